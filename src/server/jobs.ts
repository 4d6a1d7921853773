// Vendor-side jobs: create, train step by step on privatized batches, evaluate/infer, record
// epochs, finish, cancel, delete. Each job's trainable tensors + optimizer + loop state are
// checkpointed atomically on disk (with the state of its random generators, so a resumed job draws
// the dropout masks an uninterrupted one would); a step is acknowledged as durable only once its
// checkpoint is in place, and re-sent steps are answered idempotently by sequence id. Models in
// memory are bounded: the least recently used (or idle) one is unloaded and rebuilt from disk on demand.
// Upload jobs (mode "upload") take the customer's whole release as chunks instead, and train it in
// the background with the same step, schedule and checkpoints, yielding to the event loop between steps.
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { loadClassifier, readConfig } from "../models/checkpoint.js";
import type { SplittableModel } from "../models/model.js";
import { ParamError, shortJson } from "../params/index.js";
import { checkPeftParams, listPeft, loadPeft, savePeft, type PeftInstance } from "../peft/index.js";
import { checkMechanismParams } from "../privacy/index.js";
import {
  batchAt,
  closeEpoch,
  epochOrder,
  fineTuneOptimizer,
  learningRate,
  newLoopState,
  recordStep,
  reviveLoopState,
  type LoopState,
} from "../split/loop.js";
import { loadTrainerCheckpoint, loadTrainerCheckpointFile, saveTrainerCheckpointFile } from "../split/checkpoint.js";
import { Vendor, preparePeft } from "../split/vendor.js";
import { AdamW, Rng, tidy, type Module, type RngState } from "../tensor/index.js";
import { TRAINING_DEFAULTS } from "../split/spec.js";
import {
  ByteCounter,
  MessageType,
  WireError,
  decodeFrame,
  frameToBatch,
  logitsToFrame,
  type Hyper,
  type JobEpoch as EpochRecord,
  type Frame,
  type JobSpec,
  type StepAck,
  type ChunkAck,
  type UploadSpec,
  type UploadStatus,
  type WireBatch,
} from "../wire/index.js";
import type { ServerConfig } from "./config.js";
import { ApiError, badRequest, conflict, notFound } from "./errors.js";
import { ACTIVE_STATUSES, type JobRow, type Store } from "./store.js";
import { UploadedSet, checkChunk, chunkFile, sameChunk, storedBytes, storedChunks, uploadDigest, writeChunk } from "./upload.js";

interface Session {
  job: Pick<JobRow, "tenant_id" | "id">;
  /** The model's generator (dropout) and the PEFT method's (its own dropout): saved in each checkpoint. */
  rngs: { model: Rng; peft: Rng };
  lastUsed: number;
  model: SplittableModel;
  peft: PeftInstance;
  optimizer?: AdamW;
  vendor: Vendor;
  state: LoopState;
  bytes: ByteCounter;
}

/** What a job's checkpoint holds besides tensors: the loop state and where its generators stood. */
type CheckpointState = Partial<LoopState> & { rng?: { model: RngState; peft: RngState } };

/** Eval and predict batches may be larger than training ones (the client sends max(64, batchSize) rows). */
export const PREDICT_ROWS_MIN = 64;
/** Most examples one upload chunk may hold. */
export const MAX_CHUNK_EXAMPLES = 4096;
/** Longest label name; each is stored in the spec, the adapter and the model config. */
const MAX_LABEL_CHARS = 200;

const num = (v: unknown, name: string, ok: (x: number) => boolean, rule: string): number => {
  if (typeof v !== "number" || !ok(v)) throw badRequest(`${name} must be ${rule}, got ${shortJson(v)}`);
  return v;
};

/** A field that must be a JSON object when given. */
const objectField = (v: unknown, name: string): Record<string, unknown> => {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw badRequest(`${name} must be a JSON object, got ${shortJson(v)}`);
  return v as Record<string, unknown>;
};

/** Bytes of the files under a folder (0 if it does not exist); links are not followed. */
export function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += folderBytes(p);
    else total += lstatSync(p).size;
  }
  return total;
}
const posInt = (x: number): boolean => Number.isInteger(x) && x > 0;

/** A registry's verdict on untrusted params, as a 400 naming the problem. */
function declared<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ParamError) throw badRequest(e.message);
    throw e;
  }
}

export class JobManager {
  /** In least-recently-used order (a Map iterates in insertion order; a use re-inserts). */
  private readonly sessions = new Map<string, Session>();
  private readonly maxPositions = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly hiddenSizes = new Map<string, number>();
  /** Upload jobs training in the background now, by id. */
  private readonly trainers = new Map<string, Promise<void>>();
  private closing = false;

  constructor(
    private readonly store: Store,
    private readonly config: ServerConfig,
  ) {
    // Idle models are unloaded even when no request comes to push them out.
    this.sweeper = setInterval(() => this.evict(), Math.min(config.limits.sessionIdleMs, 60_000));
    this.sweeper.unref();
  }

  /** Stops the idle sweep and the background trainers (each stops after its current step). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.closing = true;
    await Promise.all(this.trainers.values());
  }

  /** Models in memory now (for tests and monitoring). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  jobDir(job: Pick<JobRow, "tenant_id" | "id">): string {
    return join(this.config.dataDir, "jobs", job.tenant_id, job.id);
  }

  /** The longest sequence the model's position table covers (its config, read once). */
  private modelMaxPositions(name: string, path: string): number {
    let n = this.maxPositions.get(name);
    if (n === undefined) this.maxPositions.set(name, (n = readConfig(path).maxPositions));
    return n;
  }

  /** Validates a creation request into a spec, naming the first bad field (and never quoting much of it). */
  parseSpec(body: unknown): JobSpec {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("job request must be a JSON object");
    const b = body as Record<string, unknown>;
    const lim = this.config.limits;
    const model = b.model;
    const entry = typeof model === "string" ? this.config.models.get(model) : undefined;
    if (typeof model !== "string" || !entry)
      throw badRequest(`unknown model ${shortJson(model)} (catalogue: ${[...this.config.models.keys()].join(", ")})`);
    const split = num(b.split, "split", Number.isInteger, "an integer");
    if (!entry.splits.includes(split))
      throw badRequest(`split ${split} is not offered for ${model} (offered: ${entry.splits.join(", ")})`);
    const labels = b.labels;
    if (!Array.isArray(labels) || labels.length < 2 || labels.some((l) => typeof l !== "string"))
      throw badRequest("labels must be a list of at least two label names");
    // Each label is a row of the head, of every checkpoint and of the adapter.
    if (labels.length > lim.maxLabels)
      throw badRequest(`${labels.length} labels is more than this service allows (limits.maxLabels ${lim.maxLabels})`);
    const badLabel = (labels as string[]).findIndex((l) => !l.length || l.length > MAX_LABEL_CHARS);
    if (badLabel >= 0) throw badRequest(`label ${badLabel} must have 1-${MAX_LABEL_CHARS} characters`);
    const peft = objectField(b.peft, "peft");
    if (typeof peft.name !== "string")
      throw badRequest(
        `peft.name is required (${listPeft()
          .map((m) => m.name)
          .join(", ")})`,
      );
    const priv = objectField(b.privatizer, "privatizer");
    if (typeof priv.name !== "string")
      throw badRequest("privatizer.name is required (a description of what the customer applies)");
    // Both are checked against the registries' declarations (ranges included: LoRA rank <= 1024,
    // prefix tokens <= 512 ...): a job that cannot run is never created.
    const peftParams = declared(() => checkPeftParams(peft.name as string, objectField(peft.params, "peft.params")));
    const privParams = declared(() => checkMechanismParams(priv.name as string, objectField(priv.params, "privatizer.params")));
    const h = objectField(b.hyper, "hyper");
    const d = TRAINING_DEFAULTS;
    const positions = this.modelMaxPositions(model, entry.path);
    const hyper: Hyper = {
      epochs: num(h.epochs, "hyper.epochs", posInt, "a positive integer"),
      stepsPerEpoch: num(h.stepsPerEpoch, "hyper.stepsPerEpoch", posInt, "a positive integer"),
      batchSize: num(
        h.batchSize,
        "hyper.batchSize",
        (x) => posInt(x) && x <= lim.maxBatchSize,
        `a positive integer <= ${lim.maxBatchSize} (limits.maxBatchSize)`,
      ),
      lr: num(h.lr, "hyper.lr", (x) => x > 0 && x < 1, "in (0, 1)"),
      warmupRatio: num(h.warmupRatio ?? d.warmupRatio, "hyper.warmupRatio", (x) => x >= 0 && x < 1, "in [0, 1)"),
      weightDecay: num(h.weightDecay ?? d.weightDecay, "hyper.weightDecay", (x) => x >= 0 && x < 1e6, "in [0, 1e6)"),
      clip: num(h.clip ?? d.clip, "hyper.clip", (x) => x > 0 && Number.isFinite(x), "> 0"),
      seed: num(h.seed ?? d.seed, "hyper.seed", (x) => Number.isSafeInteger(x) && x >= 0, "a non-negative integer"),
      // The bottom cannot produce more positions than its table has, so no frame may carry more.
      maxSeqLen: num(
        h.maxSeqLen ?? Math.min(d.maxSeqLen, positions),
        "hyper.maxSeqLen",
        (x) => posInt(x) && x <= positions,
        `a positive integer <= ${positions} (the model's max positions)`,
      ),
    };
    if (hyper.epochs * hyper.stepsPerEpoch > 10_000_000) throw badRequest("epochs * stepsPerEpoch is unreasonably large");
    const mode = b.mode ?? "steps";
    if (mode !== "steps" && mode !== "upload") throw badRequest(`mode must be "steps" or "upload", got ${shortJson(mode)}`);
    let upload: UploadSpec | undefined;
    if (mode === "upload") {
      const u = objectField(b.upload, "upload");
      const examples = num(u.examples, "upload.examples", (x) => posInt(x) && x <= 100_000_000, "a positive integer");
      const chunkExamples = num(
        u.chunkExamples,
        "upload.chunkExamples",
        (x) => posInt(x) && x <= MAX_CHUNK_EXAMPLES,
        `a positive integer <= ${MAX_CHUNK_EXAMPLES}`,
      );
      const chunks = num(u.chunks, "upload.chunks", posInt, "a positive integer");
      if (chunks !== Math.ceil(examples / chunkExamples))
        throw badRequest(
          `upload.chunks must be ceil(examples / chunkExamples) = ${Math.ceil(examples / chunkExamples)}, got ${chunks}`,
        );
      if (typeof u.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(u.sha256))
        throw badRequest("upload.sha256 must be 64 lowercase hex digits (SHA-256 of the chunk frames in order)");
      // The vendor walks the epochs itself: they must cover the uploaded set exactly as the customer's would.
      const spe = Math.ceil(examples / hyper.batchSize);
      if (hyper.stepsPerEpoch !== spe)
        throw badRequest(
          `hyper.stepsPerEpoch must be ceil(upload.examples / hyper.batchSize) = ${spe}, got ${hyper.stepsPerEpoch}`,
        );
      upload = { examples, chunkExamples, chunks, sha256: u.sha256 };
    } else if (b.upload !== undefined) throw badRequest('upload is only given with mode "upload"');
    return {
      model,
      split,
      labels: labels as string[],
      peft: { name: peft.name, params: peftParams },
      privatizer: {
        name: priv.name,
        params: privParams as JobSpec["privatizer"]["params"],
        description: typeof priv.description === "string" ? priv.description.slice(0, 500) : undefined,
      },
      hyper,
      ...(upload ? { mode: "upload" as const, upload } : {}),
    };
  }

  create(tenantId: string, body: unknown): JobRow {
    const spec = this.parseSpec(body);
    const lim = this.config.limits;
    const active = this.store.countActive(tenantId);
    if (active >= lim.maxActiveJobsPerTenant)
      throw new ApiError(
        429,
        "too_many_jobs",
        `this tenant already has ${active} active jobs (limit ${lim.maxActiveJobsPerTenant}); finish or cancel one first`,
      );
    const all = this.store.countJobs(tenantId);
    if (all >= lim.maxJobsPerTenant)
      throw new ApiError(
        429,
        "too_many_jobs",
        `this tenant already has ${all} jobs (limit ${lim.maxJobsPerTenant}, finished ones included); delete one first`,
      );
    const used = folderBytes(join(this.config.dataDir, "jobs", tenantId));
    if (used >= lim.maxDiskBytesPerTenant)
      throw new ApiError(
        429,
        "disk_quota",
        `this tenant's jobs use ${used} bytes on disk (limit ${lim.maxDiskBytesPerTenant}); delete finished jobs first`,
      );
    const id = `job_${randomBytes(9).toString("base64url")}`;
    const row = this.store.insertJob({
      id,
      tenant_id: tenantId,
      status: "created",
      model: spec.model,
      split: spec.split,
      spec: JSON.stringify(spec),
      total_steps: spec.hyper.epochs * spec.hyper.stepsPerEpoch,
    });
    mkdirSync(this.jobDir(row), { recursive: true, mode: 0o700 });
    return row;
  }

  get(tenantId: string, id: string): JobRow {
    const job = this.store.job(tenantId, id);
    // The same answer whether the job does not exist or belongs to someone else.
    if (!job) throw notFound(`no job ${id} for this tenant`);
    return job;
  }

  private requireActive(job: JobRow): void {
    if (!ACTIVE_STATUSES.includes(job.status))
      throw conflict("job_not_active", `job ${job.id} is ${job.status}; it takes no more training input`);
  }

  /** The job's model in memory, rebuilt from its last checkpoint (or adapter) after a restart or an unload. */
  private session(job: JobRow): Session {
    const have = this.sessions.get(job.id);
    if (have) {
      this.sessions.delete(job.id);
      this.sessions.set(job.id, have);
      have.lastUsed = Date.now();
      return have;
    }
    const spec = JSON.parse(job.spec) as JobSpec;
    const entry = this.config.models.get(spec.model);
    if (!entry) throw new ApiError(503, "model_unavailable", `model ${spec.model} is no longer in the server's catalogue`);
    const rngs = { model: new Rng(spec.hyper.seed), peft: new Rng(spec.hyper.seed) };
    const { model } = loadClassifier(entry.path, { labels: spec.labels, seed: spec.hyper.seed, rng: rngs.model });
    const dir = this.jobDir(job);
    const adapterDir = join(dir, "adapter");
    let state = newLoopState();
    let peft: PeftInstance;
    let optimizer: AdamW | undefined;
    if (!ACTIVE_STATUSES.includes(job.status) && existsSync(join(adapterDir, "adapter_config.json"))) {
      model.requiresGrad(false);
      peft = loadPeft(adapterDir, model).instance;
    } else {
      peft = preparePeft(model, spec.split, spec.peft, rngs.peft);
      optimizer = fineTuneOptimizer(
        peft.trainable().map(([, t]) => t),
        spec.hyper,
      );
      const ckptFile = join(dir, "checkpoint.safetensors");
      const ckptDir = join(dir, "checkpoint"); // the folder form written by earlier versions
      let saved: CheckpointState | undefined;
      if (existsSync(ckptFile)) saved = loadTrainerCheckpointFile<CheckpointState>(ckptFile, trainableModule(peft), optimizer);
      else if (existsSync(join(ckptDir, "state.json")))
        saved = loadTrainerCheckpoint<CheckpointState>(ckptDir, trainableModule(peft), optimizer);
      if (saved) {
        const { rng, ...loop } = saved;
        state = reviveLoopState(loop);
        // Checkpoints of earlier versions have no generator state: those resume with fresh streams.
        if (rng) {
          rngs.model.setState(rng.model);
          rngs.peft.setState(rng.peft);
        }
      }
    }
    const vendor = new Vendor({ model, split: spec.split, peft, optimizer, clip: spec.hyper.clip });
    const s: Session = {
      job: { tenant_id: job.tenant_id, id: job.id },
      rngs,
      lastUsed: Date.now(),
      model,
      peft,
      optimizer,
      vendor,
      state,
      bytes: new ByteCounter(),
    };
    this.sessions.set(job.id, s);
    this.evict();
    return s;
  }

  /**
   * Unloads the least recently used models beyond limits.maxSessions, and any unused for
   * limits.sessionIdleMs. A training job's steps not yet durable are checkpointed first, so an
   * unload loses nothing: the next request rebuilds the model from disk where it stood.
   */
  private evict(now = Date.now()): void {
    const { maxSessions, sessionIdleMs } = this.config.limits;
    for (const [id, s] of this.sessions) {
      if (this.sessions.size <= maxSessions && now - s.lastUsed < sessionIdleMs) break; // the rest are newer
      this.sessions.delete(id);
      if (!s.optimizer) continue;
      const row = this.store.job(s.job.tenant_id, id);
      if (row && ACTIVE_STATUSES.includes(row.status) && s.state.step > row.durable_step) {
        this.checkpoint(row, s);
        this.store.updateJob(row.tenant_id, id, { step: s.state.step, durable_step: s.state.step });
      }
    }
  }

  private checkpoint(job: Pick<JobRow, "tenant_id" | "id">, s: Session): void {
    if (!s.optimizer) throw new Error(`job ${job.id} is loaded for inference only`);
    const state: CheckpointState = { ...s.state, rng: { model: s.rngs.model.getState(), peft: s.rngs.peft.getState() } };
    saveTrainerCheckpointFile(join(this.jobDir(job), "checkpoint.safetensors"), trainableModule(s.peft), s.optimizer, state);
  }

  /**
   * Refuses a batch longer or wider than the job allows before any compute: attention costs
   * B·T² and a frame's byte limit alone lets T reach tens of thousands (seconds of blocked event
   * loop, or an allocation the addon cannot survive).
   */
  private checkBatchShape(spec: JobSpec, frame: Frame, maxRows: number): void {
    const [rows, seqLen] = frame.shape as [number, number, number];
    const entry = this.config.models.get(spec.model);
    const positions = entry ? this.modelMaxPositions(spec.model, entry.path) : spec.hyper.maxSeqLen;
    const maxT = Math.min(spec.hyper.maxSeqLen, positions);
    if (seqLen > maxT)
      throw new WireError("too_long", `sequence length ${seqLen} is above the job's limit of ${maxT} (hyper.maxSeqLen)`);
    if (rows > maxRows) throw new WireError("too_many_rows", `${rows} rows is above the job's limit of ${maxRows} per batch`);
  }

  /** One training step. `frame` is a TrainBatch frame whose seq must be the next step (or an old one: idempotent). */
  step(tenantId: string, id: string, bytes: Uint8Array, responseBytes: (ack: StepAck) => number): StepAck {
    const job = this.get(tenantId, id);
    this.requireActive(job);
    const spec = JSON.parse(job.spec) as JobSpec;
    if (spec.upload)
      throw conflict("upload_job", `job ${id} is an upload job: it takes chunks (PUT /v1/jobs/${id}/upload/N), not steps`);
    const frame = decodeFrame(bytes, { maxFrameBytes: this.config.limits.maxFrameBytes, numLabels: spec.labels.length });
    if (frame.type !== MessageType.TrainBatch)
      throw new WireError("bad_message_type", `the steps endpoint takes training batches (type 1), got type ${frame.type}`);
    this.checkBatchShape(spec, frame, spec.hyper.batchSize);
    const s = this.session(job);
    const st = s.state;
    const seq = frame.seq;
    if (seq <= st.step) {
      // A re-sent step (the ack was lost): answer it again, never apply it twice.
      const ack: StepAck =
        st.lastAck && st.lastAck.seq === seq
          ? { ...st.lastAck, durableSeq: job.durable_step, duplicate: true }
          : { seq, loss: Number.NaN, correct: 0, count: 0, gradNorm: 0, durableSeq: job.durable_step, duplicate: true };
      return ack;
    }
    if (seq !== st.step + 1)
      throw conflict("out_of_order", `step ${seq} arrived but the job expects step ${st.step + 1}; resend from there`, {
        expected: st.step + 1,
        durableSeq: job.durable_step,
      });
    if (seq > job.total_steps)
      throw conflict("too_many_steps", `the job has ${job.total_steps} steps; step ${seq} is beyond them`);
    const wire = frameToBatch(frame);
    const dim = s.model.config.hiddenSize;
    if (wire.dim !== dim) throw new WireError("bad_shape", `representations have size ${wire.dim}; ${spec.model} expects ${dim}`);
    const ack = this.trainOne(job, s, spec, wire, seq);
    s.bytes.step(responseBytes(ack), bytes.length);
    return ack;
  }

  /**
   * Applies step `seq` (the next one) to a job's session: the one optimisation step both the
   * per-step endpoint and an upload job's background loop take, checkpointed on the same rule.
   */
  private trainOne(job: JobRow, s: Session, spec: JobSpec, wire: WireBatch, seq: number): StepAck {
    const { id, tenant_id: tenantId } = job;
    const st = s.state;
    const total = job.total_steps;
    const r = tidy(() => s.vendor.trainStep(wire, learningRate(spec.hyper, seq - 1, total)));
    if (!Number.isFinite(r.loss) || !Number.isFinite(r.gradNorm)) {
      // The weights and moments in memory are spoiled, the job is not: forget them, and the next
      // step rebuilds the model from the last durable checkpoint, where the customer resumes.
      this.sessions.delete(id);
      const durable = job.durable_step;
      this.store.updateJob(tenantId, id, { step: durable });
      const what = Number.isFinite(r.loss) ? `the gradient norm became ${r.gradNorm}` : `loss became ${r.loss}`;
      throw new ApiError(
        422,
        "diverged",
        `${what} at step ${seq}; the job stays at its last durable step ${durable}: resend from step ${durable + 1} (a smaller input or learning rate)`,
        { durableSeq: durable, expected: durable + 1 },
      );
    }
    recordStep(st, r);
    let durable = job.durable_step;
    const ack: StepAck = { seq, loss: r.loss, correct: r.correct, count: r.count, gradNorm: r.gradNorm, durableSeq: durable };
    if (seq % this.config.checkpointEvery === 0 || seq === total) {
      st.lastAck = { ...ack, durableSeq: seq };
      this.checkpoint(job, s);
      durable = seq;
    } else st.lastAck = ack;
    ack.durableSeq = durable;
    this.store.updateJob(
      tenantId,
      id,
      job.status === "running" ? { step: seq, durable_step: durable } : { step: seq, durable_step: durable, status: "running" },
    );
    job.step = seq;
    job.durable_step = durable;
    job.status = "running";
    return ack;
  }

  /** Logits for a predict frame: current weights while training, the best adapter once finished. */
  predict(tenantId: string, id: string, bytes: Uint8Array): Uint8Array {
    const job = this.get(tenantId, id);
    if (job.status === "cancelled" || job.status === "failed") throw conflict("job_not_usable", `job ${id} is ${job.status}`);
    const frame = decodeFrame(bytes, { maxFrameBytes: this.config.limits.maxFrameBytes });
    if (frame.type !== MessageType.PredictBatch)
      throw new WireError("bad_message_type", `the predict endpoint takes predict batches (type 2), got type ${frame.type}`);
    const spec = JSON.parse(job.spec) as JobSpec;
    this.checkBatchShape(spec, frame, Math.max(PREDICT_ROWS_MIN, spec.hyper.batchSize));
    const s = this.session(job);
    const wire = frameToBatch(frame);
    wire.labels = undefined;
    const dim = s.model.config.hiddenSize;
    if (wire.dim !== dim) throw new WireError("bad_shape", `representations have size ${wire.dim}; the model expects ${dim}`);
    const logits = tidy(() => s.vendor.predict(wire));
    const out = logitsToFrame(logits, wire.batchSize, frame.seq);
    s.bytes.other(out.length, bytes.length);
    return out;
  }

  /** The customer's evaluation of an epoch (it alone holds the dev labels); the best adapter is kept. */
  epoch(tenantId: string, id: string, body: unknown): EpochRecord {
    const job = this.get(tenantId, id);
    this.requireActive(job);
    if ((JSON.parse(job.spec) as JobSpec).upload)
      throw conflict("upload_job", `job ${id} is an upload job: the vendor closes its epochs (train metrics only)`);
    const b = objectField(body, "request body");
    const epoch = num(b.epoch, "epoch", posInt, "a positive integer");
    const devAccuracy = num(b.devAccuracy, "devAccuracy", (x) => x >= 0 && x <= 1, "in [0, 1]");
    const s = this.session(job);
    const st = s.state;
    const seen = st.epochs.find((e) => e.epoch === epoch);
    if (seen) return seen;
    if (epoch !== st.epoch + 1)
      throw conflict("out_of_order", `epoch ${epoch} reported but the job's next epoch is ${st.epoch + 1}`, {
        expected: st.epoch + 1,
      });
    const { record: rec, improved } = closeEpoch(st, devAccuracy);
    if (improved) this.saveAdapter(job, s);
    this.checkpoint(job, s);
    this.store.updateJob(tenantId, id, {
      summary: JSON.stringify({ epochs: st.epochs, best: st.best, bestEpoch: st.bestEpoch }),
    });
    return rec;
  }

  private saveAdapter(job: JobRow, s: Session): void {
    const spec = JSON.parse(job.spec) as JobSpec;
    const dir = join(this.jobDir(job), "adapter");
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    savePeft(tmp, s.peft, {
      split: spec.split,
      labels: spec.labels,
      modelType: s.model.config.modelType,
      baseModel: spec.model,
      privatizer: { name: spec.privatizer.name, params: spec.privatizer.params },
      maxSeqLen: spec.hyper.maxSeqLen,
    });
    const old = `${dir}.old-${process.pid}`;
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  }

  finish(tenantId: string, id: string): JobRow {
    const job = this.get(tenantId, id);
    if (job.status === "completed") return job;
    this.requireActive(job);
    if ((JSON.parse(job.spec) as JobSpec).upload)
      throw conflict("upload_job", `job ${id} is an upload job: it finishes when its background training does`);
    const s = this.session(job);
    // No evaluation reported: the last weights are the adapter.
    if (!existsSync(join(this.jobDir(job), "adapter", "adapter_config.json"))) this.saveAdapter(job, s);
    this.store.updateJob(tenantId, id, { status: "completed" });
    this.sessions.delete(id); // reloaded from the best adapter for inference
    return this.get(tenantId, id);
  }

  cancel(tenantId: string, id: string): JobRow {
    const job = this.get(tenantId, id);
    if (job.status === "cancelled") return job;
    this.requireActive(job);
    this.store.updateJob(tenantId, id, { status: "cancelled" });
    this.sessions.delete(id);
    return this.get(tenantId, id);
  }

  delete(tenantId: string, id: string): void {
    const job = this.get(tenantId, id);
    this.sessions.delete(id);
    rmSync(this.jobDir(job), { recursive: true, force: true });
    this.store.deleteJob(tenantId, id);
  }

  // --- upload mode ---------------------------------------------------------------------------

  uploadDir(job: Pick<JobRow, "tenant_id" | "id">): string {
    return join(this.jobDir(job), "upload");
  }

  private uploadSpecOf(job: JobRow): UploadSpec {
    const spec = JSON.parse(job.spec) as JobSpec;
    if (!spec.upload)
      throw conflict("not_upload_job", `job ${job.id} takes training steps (POST /v1/jobs/${job.id}/steps), not uploads`);
    return spec.upload;
  }

  private hiddenSize(model: string): number {
    let d = this.hiddenSizes.get(model);
    const entry = this.config.models.get(model);
    if (!entry) throw new ApiError(503, "model_unavailable", `model ${model} is no longer in the server's catalogue`);
    if (d === undefined) this.hiddenSizes.set(model, (d = readConfig(entry.path).hiddenSize));
    return d;
  }

  /** A chunk index from the URL, within the job's upload. */
  chunkIndex(job: JobRow, raw: string): number {
    const u = this.uploadSpecOf(job);
    const index = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(index) || index >= u.chunks)
      throw badRequest(`chunk index ${shortJson(raw)} is outside 0..${u.chunks - 1}`, { chunks: u.chunks });
    return index;
  }

  /** Refuses chunks once the upload is complete (training started) or the job is over. */
  private requireUploading(job: JobRow): UploadSpec {
    const u = this.uploadSpecOf(job);
    if (job.status !== "created")
      throw conflict(
        "upload_closed",
        `job ${job.id} is ${job.status === "running" ? "training" : job.status}: its upload is closed and takes no more chunks`,
      );
    return u;
  }

  /** The job, its upload and the chunk index a PUT names: checked before its body is read. */
  chunkTarget(tenantId: string, id: string, rawIndex: string): { job: JobRow; u: UploadSpec; index: number } {
    const job = this.get(tenantId, id);
    const u = this.requireUploading(job);
    return { job, u, index: this.chunkIndex(job, rawIndex) };
  }

  /**
   * Stores chunk `index` after checking it in full (CRC, length, shape, labels, its rows). The same
   * bytes again are answered as a duplicate; different bytes for a stored chunk are refused (409),
   * and the stored copy stays as it was.
   */
  putChunk(tenantId: string, id: string, rawIndex: string, bytes: Uint8Array): ChunkAck {
    const { job, u, index } = this.chunkTarget(tenantId, id, rawIndex);
    const spec = JSON.parse(job.spec) as JobSpec;
    const dir = this.uploadDir(job);
    const frame = decodeFrame(bytes, { maxFrameBytes: this.config.limits.maxChunkBytes, numLabels: spec.labels.length });
    this.checkBatchShape(spec, frame, u.chunkExamples);
    checkChunk(frame, u, index, this.hiddenSize(spec.model));
    if (existsSync(chunkFile(dir, index))) {
      if (!sameChunk(dir, index, bytes))
        throw conflict(
          "chunk_conflict",
          `chunk ${index} is already stored with different bytes; an upload is immutable (create a new job for a new release)`,
          { chunk: index },
        );
      return { chunk: index, bytes: bytes.length, duplicate: true, received: storedChunks(dir).length };
    }
    const lim = this.config.limits.maxUploadBytesPerTenant;
    const used = this.store.jobs(tenantId).reduce((a, j) => a + storedBytes(this.uploadDir(j)), 0);
    if (used + bytes.length > lim)
      throw new ApiError(
        429,
        "upload_quota",
        `this tenant's uploads hold ${used} bytes; ${bytes.length} more is over limits.maxUploadBytesPerTenant (${lim})`,
      );
    writeChunk(dir, index, bytes);
    return { chunk: index, bytes: bytes.length, duplicate: false, received: storedChunks(dir).length };
  }

  uploadStatus(job: JobRow): UploadStatus {
    const u = this.uploadSpecOf(job);
    const dir = this.uploadDir(job);
    return {
      chunks: u.chunks,
      examples: u.examples,
      received: storedChunks(dir).filter((c) => c < u.chunks),
      bytes: storedBytes(dir),
      complete: job.status !== "created",
    };
  }

  /**
   * Verifies that every chunk is there and that their SHA-256 is the customer's, then starts the
   * background training. Refusals change nothing: the chunks stay, and a fixed upload completes later.
   */
  completeUpload(tenantId: string, id: string): JobRow {
    const job = this.get(tenantId, id);
    const u = this.uploadSpecOf(job);
    if (job.status === "running" || job.status === "completed") return job; // completed before: idempotent
    this.requireActive(job);
    const dir = this.uploadDir(job);
    const have = new Set(storedChunks(dir));
    const missing = [...Array(u.chunks).keys()].filter((c) => !have.has(c));
    if (missing.length)
      throw conflict("upload_incomplete", `${missing.length} of ${u.chunks} chunks are missing (first: ${missing[0]})`, {
        missing: missing.slice(0, 100),
      });
    const digest = uploadDigest(dir, u.chunks);
    if (digest !== u.sha256)
      throw conflict(
        "checksum_mismatch",
        `the stored chunks hash to sha256 ${digest}, the job spec says ${u.sha256}; nothing was started (the chunks are kept)`,
        { sha256: digest },
      );
    this.store.updateJob(tenantId, id, { status: "running" });
    this.startTraining(this.get(tenantId, id));
    return this.get(tenantId, id);
  }

  /** Restarts the background training of upload jobs that were training when the server stopped. */
  resumeUploads(): void {
    const rows = this.store.db.prepare("SELECT * FROM jobs WHERE status = 'running'").all() as JobRow[];
    for (const job of rows) if ((JSON.parse(job.spec) as JobSpec).upload) this.startTraining(job);
  }

  private startTraining(job: JobRow): void {
    if (this.trainers.has(job.id) || this.closing) return;
    const run = this.trainUpload(job.tenant_id, job.id)
      .catch((e: unknown) => {
        if (this.closing) return;
        // The job, not the server, failed: say why in the job (the message names no data).
        const msg = e instanceof ApiError || e instanceof WireError ? e.message : `internal error (${(e as Error)?.name})`;
        this.sessions.delete(job.id);
        try {
          this.store.updateJob(job.tenant_id, job.id, { status: "failed", error: msg });
        } catch {
          // the job was deleted meanwhile
        }
      })
      .finally(() => this.trainers.delete(job.id));
    this.trainers.set(job.id, run);
  }

  /**
   * An upload job's epochs: the uploaded release shuffled with the job's seed (epochOrder, as the
   * customer's loop does), one trainOne per batch, an epoch closed (train metrics, no dev) when its
   * last batch is done, the last weights saved as the adapter at the end. Resumes from the loop
   * state of the last checkpoint. One step per event-loop turn, so other requests are served between.
   */
  private async trainUpload(tenantId: string, id: string): Promise<void> {
    let set: UploadedSet | undefined;
    for (;;) {
      await yieldToEventLoop();
      if (this.closing) return;
      const job = this.store.job(tenantId, id);
      if (!job || job.status !== "running") return; // cancelled or deleted meanwhile
      const spec = JSON.parse(job.spec) as JobSpec;
      const u = spec.upload!;
      const { batchSize, stepsPerEpoch, seed } = spec.hyper;
      set ??= UploadedSet.load(this.uploadDir(job), u, {
        dim: this.hiddenSize(spec.model),
        numLabels: spec.labels.length,
        maxFrameBytes: this.config.limits.maxChunkBytes,
      });
      const s = this.session(job);
      const st = s.state;
      if (st.step >= (st.epoch + 1) * stepsPerEpoch && st.epoch < spec.hyper.epochs) {
        // devAccuracy NaN: the vendor has no dev labels; it is stored as null.
        closeEpoch(st, Number.NaN);
        this.checkpoint(job, s);
        this.store.updateJob(tenantId, id, { summary: JSON.stringify({ epochs: st.epochs }) });
        continue;
      }
      if (st.step >= job.total_steps) {
        this.saveAdapter(job, s);
        this.store.updateJob(tenantId, id, { status: "completed" });
        this.sessions.delete(id);
        return;
      }
      const seq = st.step + 1;
      const epoch = Math.floor(st.step / stepsPerEpoch);
      const wire = set.batch(batchAt(epochOrder(seed, epoch, set.size), st.step - epoch * stepsPerEpoch, batchSize));
      this.trainOne(job, s, spec, wire, seq);
    }
  }

  /** The public view of a job. */
  view(job: JobRow): Record<string, unknown> {
    const spec = JSON.parse(job.spec) as JobSpec;
    const s = this.sessions.get(job.id);
    return {
      id: job.id,
      status: job.status,
      model: job.model,
      split: job.split,
      spec,
      step: job.step,
      totalSteps: job.total_steps,
      progress: job.total_steps ? job.step / job.total_steps : 0,
      durableSeq: job.durable_step,
      /** After a restart the job continues from its last durable step. */
      nextSeq: (s ? s.state.step : job.durable_step) + 1,
      ...(JSON.parse(job.summary) as Record<string, unknown>),
      bytes: s ? { sent: s.bytes.sent, received: s.bytes.received, perStep: s.bytes.bytesPerStep } : undefined,
      upload: spec.upload ? this.uploadStatus(job) : undefined,
      error: job.error ?? undefined,
      createdAt: new Date(job.created_at).toISOString(),
      updatedAt: new Date(job.updated_at).toISOString(),
    };
  }
}

/** The checkpoint helpers take a Module; a PEFT instance's trainable tensors are all a job needs to save. */
function trainableModule(peft: PeftInstance): Module {
  return { namedParameters: () => peft.trainable() } as unknown as Module;
}
