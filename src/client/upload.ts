// `sap client finetune --upload`: the customer privatizes its whole training set once, uploads
// that release as chunks (skipping those the vendor already holds, so a killed upload resumes),
// asks the vendor to verify the SHA-256 and train it in the background, and may go away. Later
// (the same process or a restarted one, with the job id) it evaluates the trained job's dev
// accuracy through the predict endpoint: the dev labels never leave this machine.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { CtiPrivatizer, saveCtiTable } from "../privacy/cti.js";
import { RELEASE_CHUNK, releasesFor, type Releases } from "../split/release.js";
import type { ProgressListener } from "../split/progress.js";
import { hyperOf, type TrainingSpec } from "../split/spec.js";
import { tidy } from "../tensor/index.js";
import { selfCheckBeforeTraining, type PrivacySection } from "../attacks/self-check.js";
import { batchToFrame, type ChunkAck, type JobEpoch, type JobView, type UploadSpec, type WireDtype } from "../wire/index.js";
import { customerSide } from "./bottom.js";
import { ctiTablePath, evaluateRemote, releaseKeyPath } from "./finetune.js";
import type { SapClient } from "./sdk.js";

export interface ClientUploadOptions extends TrainingSpec {
  client: SapClient;
  model: string;
  wireDtype?: WireDtype;
  cacheDir: string;
  /** Continue this upload job (resume its upload, or wait for / evaluate its training). */
  jobId?: string;
  /** Examples per chunk (default RELEASE_CHUNK). */
  chunkExamples?: number;
  /** Wait for the background training and evaluate dev accuracy (default true); false returns once training started. */
  wait?: boolean;
  /** How often to ask for the job's progress while waiting, ms. */
  pollMs?: number;
  onProgress?: ProgressListener;
  selfCheck?: boolean;
  /** Called after each chunk sent (tests use it to stop an upload half-way). */
  onChunk?: (ack: ChunkAck, jobId: string) => void | Promise<void>;
}

export interface ClientUploadResult {
  jobId: string;
  status: string;
  /** The vendor's per-epoch train metrics (it has no dev labels: devAccuracy is null there). */
  epochs: Array<Pick<JobEpoch, "epoch" | "trainLoss" | "trainAccuracy">>;
  /** Dev accuracy of the trained job, measured here through the predict endpoint (NaN if not waited for). */
  dev_accuracy: number;
  upload: {
    sha256: string;
    chunks: number;
    examples: number;
    /** Chunks sent by this process (those the server held already are skipped). */
    chunksSent: number;
    chunksSkipped: number;
    /** Request bytes of the chunks sent by this process. */
    bytes: number;
    seconds: number;
    /** bytes / seconds / 1e6. */
    mbPerSecond: number;
  };
  /** Time from the upload's completion to the end of training, as seen from here (when waited for). */
  trainWaitSeconds?: number;
  privacy?: PrivacySection;
}

/** The chunk frames of a release, in order (built on demand: a release can be large). */
function chunkFrame(releases: Releases, n: number, per: number, c: number, dtype: WireDtype): Uint8Array {
  const idx = [...Array(Math.min(per, n - c * per)).keys()].map((i) => c * per + i);
  return tidy(() => batchToFrame(releases.trainBatch(idx), c, dtype, true));
}

export async function clientUpload(opts: ClientUploadOptions): Promise<ClientUploadResult> {
  const { client, dataset } = opts;
  if (opts.freshNoise)
    throw new Error("an upload is one release of each example: --upload cannot be combined with --fresh-noise");
  const emit = opts.onProgress ?? (() => {});
  const dtype = opts.wireDtype ?? "f32";
  const per = opts.chunkExamples ?? RELEASE_CHUNK;
  const { tok, train, dev, privatizer, noise, customer } = await customerSide(client, opts);

  // The spec carries the upload's checksum, so the release (and its key) comes before the job:
  // a new key waits in a pending folder that becomes the job's once the job exists.
  const existing = opts.jobId ? await client.job(opts.jobId) : undefined;
  let keyFile = existing
    ? releaseKeyPath(opts.cacheDir, existing.id)
    : join(opts.cacheDir, "jobs", `pending-${randomBytes(6).toString("hex")}`, "release.key");
  if (existing && opts.noiseSeed === undefined && !existsSync(keyFile))
    throw new Error(
      `job ${existing.id}'s release key ${keyFile} is missing (use the --cache the job was created with); without it the release cannot be rebuilt`,
    );
  const releases = releasesFor(customer, { train, dev, padId: tok.padId }, { ...opts, trainsBottom: false, keyFile }, emit);
  const privacy = selfCheckBeforeTraining(customer, tok, { ...opts, train, releases }, emit);
  const chunks = Math.ceil(train.length / per);
  const hash = createHash("sha256");
  for (let c = 0; c < chunks; c++) hash.update(chunkFrame(releases, train.length, per, c, dtype));
  const upload: UploadSpec = { examples: train.length, chunkExamples: per, chunks, sha256: hash.digest("hex") };

  let job: JobView;
  if (existing) {
    job = existing;
    const u = existing.spec.upload;
    if (existing.spec.mode !== "upload" || !u) throw new Error(`job ${existing.id} is not an upload job`);
    if (u.sha256 !== upload.sha256 || u.chunks !== upload.chunks)
      throw new Error(
        `job ${existing.id} was created for an upload with sha256 ${u.sha256}; the data, settings or release key here give ${upload.sha256}`,
      );
  } else {
    job = await client.createJob({
      model: opts.model,
      split: opts.split,
      labels: dataset.labels,
      peft: opts.peft,
      privatizer: { ...opts.privatizer, description: `${privatizer.describe()} (noise: ${noise.description})` },
      hyper: hyperOf(opts, Math.ceil(train.length / opts.batchSize)),
      mode: "upload",
      upload,
    });
    const pending = dirname(keyFile);
    if (existsSync(pending)) {
      const target = dirname(releaseKeyPath(opts.cacheDir, job.id));
      mkdirSync(dirname(target), { recursive: true });
      renameSync(pending, target);
      keyFile = releaseKeyPath(opts.cacheDir, job.id);
    }
  }
  const jobId = job.id;
  if (privatizer instanceof CtiPrivatizer) {
    // The CTI table comes from the private training data: it stays here, for predict.
    const file = ctiTablePath(opts.cacheDir, jobId);
    mkdirSync(dirname(file), { recursive: true });
    saveCtiTable(file, privatizer.table);
  }

  let sent = 0;
  let bytes = 0;
  let skipped = 0;
  const t0 = performance.now();
  if (job.status === "created") {
    const held = new Set((await client.uploadStatus(jobId)).received);
    for (let c = 0; c < chunks; c++) {
      if (held.has(c)) {
        skipped++;
        continue;
      }
      const frame = chunkFrame(releases, train.length, per, c, dtype);
      const ack = await client.putChunk(jobId, c, frame);
      sent++;
      bytes += frame.length;
      emit({ task: "upload", done: c + 1, total: chunks, unit: "chunks" });
      await opts.onChunk?.(ack, jobId);
    }
    job = await client.completeUpload(jobId);
  } else skipped = chunks;
  const seconds = (performance.now() - t0) / 1000;
  const result: ClientUploadResult = {
    jobId,
    status: job.status,
    epochs: [],
    dev_accuracy: Number.NaN,
    upload: {
      ...upload,
      chunksSent: sent,
      chunksSkipped: skipped,
      bytes,
      seconds,
      mbPerSecond: seconds > 0 ? bytes / seconds / 1e6 : 0,
    },
    privacy,
  };
  if (opts.wait === false) return result;

  const w0 = performance.now();
  while (job.status === "running" || job.status === "created") {
    emit({ task: "vendor training", done: job.step, total: job.totalSteps, unit: "steps" });
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    job = await client.job(jobId);
  }
  if (job.status !== "completed") throw new Error(`job ${jobId} ended ${job.status}${job.error ? `: ${job.error}` : ""}`);
  result.status = job.status;
  result.trainWaitSeconds = (performance.now() - w0) / 1000;
  result.epochs = (job.epochs ?? []).map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy }));
  result.dev_accuracy = await evaluateRemote(client, jobId, releases, Math.max(opts.batchSize, 64), dtype);
  emit({
    task: "client finetune",
    done: 1,
    total: 1,
    unit: "",
    message: `dev acc ${(100 * result.dev_accuracy).toFixed(2)}%`,
  });
  return result;
}
