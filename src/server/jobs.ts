// Vendor-side jobs: create, train step by step on privatized batches, evaluate/infer, record
// epochs, finish, cancel, delete. Each job's trainable tensors + optimizer + loop state are
// checkpointed atomically on disk; a step is acknowledged as durable only once its checkpoint is
// in place, and re-sent steps are answered idempotently by sequence id.
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { loadClassifier } from "../models/checkpoint.js";
import type { SplittableModel } from "../models/model.js";
import { ParamError } from "../params/index.js";
import { checkPeftParams, listPeft, loadPeft, savePeft, type PeftInstance } from "../peft/index.js";
import { checkMechanismParams } from "../privacy/index.js";
import {
  closeEpoch,
  fineTuneOptimizer,
  learningRate,
  newLoopState,
  recordStep,
  reviveLoopState,
  type LoopState,
} from "../split/loop.js";
import { loadTrainerCheckpoint, loadTrainerCheckpointFile, saveTrainerCheckpointFile } from "../split/checkpoint.js";
import { Vendor, preparePeft } from "../split/vendor.js";
import { AdamW, Rng, tidy, type Module } from "../tensor/index.js";
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
  type JobSpec,
  type StepAck,
} from "../wire/index.js";
import type { ServerConfig } from "./config.js";
import { ApiError, badRequest, conflict, notFound } from "./errors.js";
import { ACTIVE_STATUSES, type JobRow, type Store } from "./store.js";

interface Session {
  model: SplittableModel;
  peft: PeftInstance;
  optimizer?: AdamW;
  vendor: Vendor;
  state: LoopState;
  bytes: ByteCounter;
}

const num = (v: unknown, name: string, ok: (x: number) => boolean, rule: string): number => {
  if (typeof v !== "number" || !ok(v)) throw badRequest(`${name} must be ${rule}, got ${JSON.stringify(v)}`);
  return v;
};
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
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly store: Store,
    private readonly config: ServerConfig,
  ) {}

  jobDir(job: Pick<JobRow, "tenant_id" | "id">): string {
    return join(this.config.dataDir, "jobs", job.tenant_id, job.id);
  }

  /** Validates a creation request into a spec, naming the first bad field. */
  parseSpec(body: unknown): JobSpec {
    if (!body || typeof body !== "object") throw badRequest("job request must be a JSON object");
    const b = body as Record<string, unknown>;
    const model = b.model;
    if (typeof model !== "string" || !this.config.models[model])
      throw badRequest(`unknown model ${JSON.stringify(model)} (catalogue: ${Object.keys(this.config.models).join(", ")})`);
    const split = num(b.split, "split", Number.isInteger, "an integer");
    if (!this.config.models[model].splits.includes(split))
      throw badRequest(`split ${split} is not offered for ${model} (offered: ${this.config.models[model].splits.join(", ")})`);
    const labels = b.labels;
    if (!Array.isArray(labels) || labels.length < 2 || labels.some((l) => typeof l !== "string"))
      throw badRequest("labels must be a list of at least two label names");
    const peft = (b.peft ?? {}) as Record<string, unknown>;
    if (typeof peft.name !== "string")
      throw badRequest(
        `peft.name is required (${listPeft()
          .map((m) => m.name)
          .join(", ")})`,
      );
    const priv = (b.privatizer ?? {}) as Record<string, unknown>;
    if (typeof priv.name !== "string")
      throw badRequest("privatizer.name is required (a description of what the customer applies)");
    // Both are checked against the registries' declarations: a job that cannot run is never created.
    const peftParams = declared(() => checkPeftParams(peft.name as string, (peft.params ?? {}) as Record<string, unknown>));
    const privParams = declared(() => checkMechanismParams(priv.name as string, (priv.params ?? {}) as Record<string, unknown>));
    const h = (b.hyper ?? {}) as Record<string, unknown>;
    const d = TRAINING_DEFAULTS;
    const hyper: Hyper = {
      epochs: num(h.epochs, "hyper.epochs", posInt, "a positive integer"),
      stepsPerEpoch: num(h.stepsPerEpoch, "hyper.stepsPerEpoch", posInt, "a positive integer"),
      batchSize: num(h.batchSize, "hyper.batchSize", posInt, "a positive integer"),
      lr: num(h.lr, "hyper.lr", (x) => x > 0 && x < 1, "in (0, 1)"),
      warmupRatio: num(h.warmupRatio ?? d.warmupRatio, "hyper.warmupRatio", (x) => x >= 0 && x < 1, "in [0, 1)"),
      weightDecay: num(h.weightDecay ?? d.weightDecay, "hyper.weightDecay", (x) => x >= 0, ">= 0"),
      clip: num(h.clip ?? d.clip, "hyper.clip", (x) => x > 0, "> 0"),
      seed: num(h.seed ?? d.seed, "hyper.seed", (x) => Number.isInteger(x) && x >= 0, "a non-negative integer"),
      maxSeqLen: num(h.maxSeqLen ?? d.maxSeqLen, "hyper.maxSeqLen", posInt, "a positive integer"),
    };
    if (hyper.epochs * hyper.stepsPerEpoch > 10_000_000) throw badRequest("epochs * stepsPerEpoch is unreasonably large");
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
    };
  }

  create(tenantId: string, body: unknown): JobRow {
    const spec = this.parseSpec(body);
    const active = this.store.countActive(tenantId);
    if (active >= this.config.limits.maxActiveJobsPerTenant)
      throw new ApiError(
        429,
        "too_many_jobs",
        `this tenant already has ${active} active jobs (limit ${this.config.limits.maxActiveJobsPerTenant}); finish or cancel one first`,
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
    mkdirSync(this.jobDir(row), { recursive: true });
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

  /** The job's model in memory, rebuilt from its last checkpoint (or adapter) after a restart. */
  private session(job: JobRow): Session {
    const have = this.sessions.get(job.id);
    if (have) return have;
    const spec = JSON.parse(job.spec) as JobSpec;
    const entry = this.config.models[spec.model];
    if (!entry) throw new ApiError(503, "model_unavailable", `model ${spec.model} is no longer in the server's catalogue`);
    const { model } = loadClassifier(entry.path, { labels: spec.labels, seed: spec.hyper.seed });
    const dir = this.jobDir(job);
    const adapterDir = join(dir, "adapter");
    let state = newLoopState();
    let peft: PeftInstance;
    let optimizer: AdamW | undefined;
    if (!ACTIVE_STATUSES.includes(job.status) && existsSync(join(adapterDir, "adapter_config.json"))) {
      model.requiresGrad(false);
      peft = loadPeft(adapterDir, model).instance;
    } else {
      peft = preparePeft(model, spec.split, spec.peft, new Rng(spec.hyper.seed));
      optimizer = fineTuneOptimizer(
        peft.trainable().map(([, t]) => t),
        spec.hyper,
      );
      const ckptFile = join(dir, "checkpoint.safetensors");
      const ckptDir = join(dir, "checkpoint"); // the folder form written by earlier versions
      if (existsSync(ckptFile))
        state = reviveLoopState(loadTrainerCheckpointFile<Partial<LoopState>>(ckptFile, trainableModule(peft), optimizer));
      else if (existsSync(join(ckptDir, "state.json")))
        state = reviveLoopState(loadTrainerCheckpoint<Partial<LoopState>>(ckptDir, trainableModule(peft), optimizer));
    }
    const vendor = new Vendor({ model, split: spec.split, peft, optimizer, clip: spec.hyper.clip });
    const s: Session = { model, peft, optimizer, vendor, state, bytes: new ByteCounter() };
    this.sessions.set(job.id, s);
    return s;
  }

  private checkpoint(job: JobRow, s: Session): void {
    if (!s.optimizer) throw new Error(`job ${job.id} is loaded for inference only`);
    saveTrainerCheckpointFile(join(this.jobDir(job), "checkpoint.safetensors"), trainableModule(s.peft), s.optimizer, s.state);
  }

  /** One training step. `frame` is a TrainBatch frame whose seq must be the next step (or an old one: idempotent). */
  step(tenantId: string, id: string, bytes: Uint8Array, responseBytes: (ack: StepAck) => number): StepAck {
    const job = this.get(tenantId, id);
    this.requireActive(job);
    const spec = JSON.parse(job.spec) as JobSpec;
    const frame = decodeFrame(bytes, { maxFrameBytes: this.config.limits.maxFrameBytes, numLabels: spec.labels.length });
    if (frame.type !== MessageType.TrainBatch)
      throw new WireError("bad_message_type", `the steps endpoint takes training batches (type 1), got type ${frame.type}`);
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
    const total = job.total_steps;
    const r = tidy(() => s.vendor.trainStep(wire, learningRate(spec.hyper, seq - 1, total)));
    if (!Number.isFinite(r.loss)) {
      this.store.updateJob(tenantId, id, { status: "failed", error: `loss became ${r.loss} at step ${seq}` });
      this.sessions.delete(id);
      throw new ApiError(
        422,
        "diverged",
        `loss became ${r.loss} at step ${seq}; the job is marked failed (lower the learning rate)`,
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
    s.bytes.step(responseBytes(ack), bytes.length);
    return ack;
  }

  /** Logits for a predict frame: current weights while training, the best adapter once finished. */
  predict(tenantId: string, id: string, bytes: Uint8Array): Uint8Array {
    const job = this.get(tenantId, id);
    if (job.status === "cancelled" || job.status === "failed") throw conflict("job_not_usable", `job ${id} is ${job.status}`);
    const frame = decodeFrame(bytes, { maxFrameBytes: this.config.limits.maxFrameBytes });
    if (frame.type !== MessageType.PredictBatch)
      throw new WireError("bad_message_type", `the predict endpoint takes predict batches (type 2), got type ${frame.type}`);
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
    const b = (body ?? {}) as Record<string, unknown>;
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
