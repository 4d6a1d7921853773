// Everything the customer and the vendor say to each other besides the binary frames: the batch
// both parties compute on, job specs, step acknowledgements, the bottom manifest, job views and
// error bodies. The only room either party imports from the other's side of the wire.

/** Exactly what crosses the wire for one batch (in memory; frame.ts gives its bytes). */
export interface WireBatch {
  batchSize: number;
  seqLen: number;
  dim: number;
  /** Privatized representations [B, T, d]. */
  hidden: Float32Array;
  /** 1 = real token, 0 = padding, [B, T]. */
  attentionMask: Int32Array;
  /** Training only. */
  labels?: Int32Array;
}

/** A mechanism or method by registry name with its parameters (src/privacy, src/peft). */
export interface MechanismSpec {
  name: string;
  params: Record<string, string | number | boolean>;
}

export type MethodParams = Record<string, number | string | boolean | string[]>;

/** The optimisation settings of a vendor-side job. */
export interface Hyper {
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  clip: number;
  seed: number;
  maxSeqLen: number;
}

/** What a customer sends to create a job. The privatizer is a description only: it runs at the customer. */
export interface JobSpec {
  model: string;
  split: number;
  labels: string[];
  peft: { name: string; params: MethodParams };
  privatizer: MechanismSpec & { description?: string };
  hyper: Hyper;
  /** "steps" (default): the customer sends one TrainBatch per step. "upload": see `upload`. */
  mode?: JobMode;
  /** Upload mode only: what the customer will upload (docs/wire-format.md, "Upload mode"). */
  upload?: UploadSpec;
}

export type JobMode = "steps" | "upload";

/**
 * An uploaded release: `chunks` TrainBatch frames, chunk c holding examples
 * [c·chunkExamples, min(examples, (c+1)·chunkExamples)) in the customer's order, padded, with
 * labels, and frame seq = c. `sha256` is the hex SHA-256 of the chunk frames concatenated in
 * index order (what a --dump-wire of the upload would hold).
 */
export interface UploadSpec {
  examples: number;
  chunkExamples: number;
  chunks: number;
  sha256: string;
}

/** `GET /v1/jobs/:id/upload`: which chunks the vendor holds, so a customer resumes with the rest. */
export interface UploadStatus {
  chunks: number;
  examples: number;
  /** Indices of the chunks stored (each on disk, fsynced). */
  received: number[];
  /** Bytes of the stored chunks. */
  bytes: number;
  /** The checksum was verified and training started (no more chunks are taken). */
  complete: boolean;
}

/** `PUT /v1/jobs/:id/upload/:chunk`'s answer. */
export interface ChunkAck {
  chunk: number;
  bytes: number;
  /** The same bytes were already stored (a re-sent chunk). */
  duplicate: boolean;
  received: number;
}

/** The vendor's answer to one training step. */
export interface StepAck {
  seq: number;
  loss: number;
  correct: number;
  count: number;
  gradNorm: number;
  /** Every step up to this one is on disk and survives a crash of the server. */
  durableSeq: number;
  duplicate?: boolean;
}

/**
 * One epoch of a job, as recorded by the vendor (dev accuracy reported by the customer; an upload
 * job trains without the customer, so its epochs have train metrics only: devAccuracy null).
 */
export interface JobEpoch {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  devAccuracy: number;
}

/** A job as the API shows it to its tenant. */
export interface JobView {
  id: string;
  status: string;
  model: string;
  split: number;
  spec: JobSpec;
  step: number;
  totalSteps: number;
  progress: number;
  durableSeq: number;
  /** After a restart the job continues from its last durable step. */
  nextSeq: number;
  epochs?: JobEpoch[];
  best?: number;
  bestEpoch?: number;
  bytes?: { sent: number; received: number; perStep: number };
  /** Upload jobs: chunks held and whether the upload is complete. */
  upload?: UploadStatus;
  error?: string;
  createdAt: string;
  updatedAt: string;
}

export interface BottomFile {
  name: string;
  bytes: number;
  sha256: string;
}

/** What a customer downloads to run the bottom: files with their digests (checked on arrival). */
export interface BottomManifest {
  model: string;
  split: number;
  numLayers: number;
  hiddenSize: number;
  modelType: string;
  files: BottomFile[];
}

/** The JSON body of every error answer: a stable code, a message naming the problem, and details beside them. */
export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}
