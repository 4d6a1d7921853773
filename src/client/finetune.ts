// `sap client finetune` / `sap client predict`: the customer's side of SAP across the network.
// The data, tokens and noise stay here; only privatized representations, the padding mask and
// training labels go to the vendor, as wire frames. Same batches, order and noise stream as the
// in-process `finetune`, so the same seeds give the same numbers.
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadTokenizer } from "../models/tokenizers/index.js";
import { CtiPrivatizer, saveCtiTable } from "../privacy/cti.js";
import { noiseSource } from "../privacy/index.js";
import { Customer, buildPrivatizer, collate, encodeExamples } from "../split/customer.js";
import { Releases, releasesFor } from "../split/release.js";
import { batchAt, epochOrder } from "../split/loop.js";
import { RateMeter, type ProgressListener } from "../split/progress.js";
import { hyperOf, type TrainingSpec } from "../split/spec.js";
import { tidy } from "../tensor/index.js";
import { selfCheckBeforeTraining, type PrivacySection } from "../attacks/self-check.js";
import {
  batchToFrame,
  frameToLogits,
  predictedClasses,
  toPredictions,
  type MechanismSpec,
  type Prediction,
  type StepAck,
  type WireDtype,
} from "../wire/index.js";
import { customerSide, loadBottom } from "./bottom.js";
import { SapApiError, type SapClient } from "./sdk.js";

export interface ClientFinetuneOptions extends TrainingSpec {
  client: SapClient;
  model: string;
  wireDtype?: WireDtype;
  /** Where the bottom bundle is cached. */
  cacheDir: string;
  /** Continue this job (after the client itself restarted) instead of creating one. */
  jobId?: string;
  /** Append every frame sent to this file (concatenated frames; docs/wire-format.md). */
  dumpWire?: string;
  onProgress?: ProgressListener;
  /** Run the privacy self-check before training (default true). */
  selfCheck?: boolean;
  /** Called after every acknowledged step (tests use it to crash the server mid-job). */
  onStep?: (ack: StepAck, jobId: string) => void | Promise<void>;
}

export interface ClientFinetuneResult {
  jobId: string;
  epochs: Array<{ epoch: number; devAccuracy: number }>;
  dev_accuracy: number;
  best_dev_accuracy: number;
  steps: number;
  seconds: number;
  /** Request + response bytes per training step, as counted by this client. */
  bytesPerStep: number;
  stepLatencyMs: number[];
  /** What the job protects, measured here on the customer's own data (absent with selfCheck false). */
  privacy?: PrivacySection;
}

export async function clientFinetune(opts: ClientFinetuneOptions): Promise<ClientFinetuneResult> {
  const { client, dataset } = opts;
  const emit = opts.onProgress ?? (() => {});
  const dtype = opts.wireDtype ?? "f32";
  const { tok, train, dev, privatizer, noise, customer } = await customerSide(client, opts);
  const stepsPerEpoch = Math.ceil(train.length / opts.batchSize);

  const job = opts.jobId
    ? await client.job(opts.jobId)
    : await client.createJob({
        model: opts.model,
        split: opts.split,
        labels: dataset.labels,
        peft: opts.peft,
        privatizer: { ...opts.privatizer, description: `${privatizer.describe()} (noise: ${noise.description})` },
        hyper: hyperOf(opts, stepsPerEpoch),
      });
  const jobId = job.id;
  // Privatize once: the release key lives with the job in this client's cache, so a restarted
  // client re-sends byte for byte what it sent before. A resumed job without its key would send a
  // second, independent release of the same examples: refused.
  const keyFile = releaseKeyPath(opts.cacheDir, jobId);
  if (opts.jobId && !opts.freshNoise && opts.noiseSeed === undefined && !existsSync(keyFile))
    throw new Error(
      `job ${jobId}'s release key ${keyFile} is missing (use the --cache the job was created with); without it a restart would send a second release of the same examples`,
    );
  const releases = releasesFor(customer, { train, dev, padId: tok.padId }, { ...opts, trainsBottom: false, keyFile }, emit);
  const privacy = selfCheckBeforeTraining(customer, tok, { ...opts, train, releases }, emit);
  if (privatizer instanceof CtiPrivatizer) {
    // The CTI table comes from the private training data: it stays here, for `sap client predict`.
    const file = ctiTablePath(opts.cacheDir, jobId);
    mkdirSync(dirname(file), { recursive: true });
    saveCtiTable(file, privatizer.table);
  }
  const done = new Set((job.epochs ?? []).map((e) => e.epoch));
  const epochs: ClientFinetuneResult["epochs"] = (job.epochs ?? []).map((e) => ({ epoch: e.epoch, devAccuracy: e.devAccuracy }));
  const startSeq = job.nextSeq;

  // Frames the server has acknowledged but not yet made durable: re-sent if it restarts.
  const pending = new Map<number, Uint8Array>();
  const trim = (durable: number): void => {
    for (const s of pending.keys()) if (s <= durable) pending.delete(s);
  };
  const latencies: number[] = [];
  let stepBytes = 0;
  let steps = 0;
  const sendStep = async (seq: number, frame: Uint8Array): Promise<StepAck> => {
    pending.set(seq, frame);
    const t0 = performance.now();
    const before = client.bytesSent + client.bytesReceived;
    for (;;) {
      try {
        const ack = await client.step(jobId, frame);
        trim(ack.durableSeq);
        latencies.push(performance.now() - t0);
        stepBytes += client.bytesSent + client.bytesReceived - before;
        steps++;
        return ack;
      } catch (e) {
        // The server restarted from an older durable step: replay what it lost, then this one.
        if (
          e instanceof SapApiError &&
          e.code === "out_of_order" &&
          typeof e.details.expected === "number" &&
          e.details.expected < seq
        ) {
          for (let s = e.details.expected; s < seq; s++) {
            const f = pending.get(s);
            if (!f) throw new Error(`the server lost step ${s}, which this client no longer holds; restart the job`);
            trim((await client.step(jobId, f)).durableSeq);
          }
          continue;
        }
        throw e;
      }
    }
  };

  const started = performance.now();
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = epochOrder(opts.seed, epoch, train.length);
    const firstBatch = Math.max(0, startSeq - 1 - epoch * stepsPerEpoch);
    const meter = new RateMeter(Math.min(firstBatch, stepsPerEpoch));
    let lossSum = 0;
    let correct = 0;
    let count = 0;
    for (let b = firstBatch; b < stepsPerEpoch; b++) {
      const seq = epoch * stepsPerEpoch + b + 1;
      const frame = tidy(() => batchToFrame(releases.trainBatch(batchAt(order, b, opts.batchSize)), seq, dtype, true));
      if (opts.dumpWire) appendFileSync(opts.dumpWire, frame);
      const ack = await sendStep(seq, frame);
      if (!ack.duplicate) {
        lossSum += ack.loss * ack.count;
        correct += ack.correct;
        count += ack.count;
      }
      emit({
        task: `epoch ${epoch + 1}/${opts.epochs}`,
        done: b + 1,
        total: stepsPerEpoch,
        unit: "batches",
        rate: meter.rate(b + 1) * opts.batchSize,
        rateUnit: "ex",
        etaSeconds: meter.eta(b + 1, stepsPerEpoch),
        metrics: count ? { loss: lossSum / count, acc: correct / count } : {},
      });
      await opts.onStep?.(ack, jobId);
    }
    if (done.has(epoch + 1)) continue;
    const devAccuracy = await evaluateRemote(client, jobId, releases, Math.max(opts.batchSize, 64), dtype, opts.dumpWire);
    await client.reportEpoch(jobId, epoch + 1, devAccuracy);
    epochs.push({ epoch: epoch + 1, devAccuracy });
    emit({
      task: "client finetune",
      done: epoch + 1,
      total: opts.epochs,
      unit: "epochs",
      message: `epoch ${epoch + 1}: dev acc ${(100 * devAccuracy).toFixed(2)}%`,
    });
  }
  await client.finish(jobId);
  const last = epochs[epochs.length - 1];
  return {
    jobId,
    privacy,
    epochs,
    dev_accuracy: last?.devAccuracy ?? Number.NaN,
    best_dev_accuracy: Math.max(...epochs.map((e) => e.devAccuracy)),
    steps,
    seconds: (performance.now() - started) / 1000,
    bytesPerStep: steps ? stepBytes / steps : 0,
    stepLatencyMs: latencies,
  };
}

/** Dev accuracy through the vendor: privatized batches out, logits back, labels never sent. */
export async function evaluateRemote(
  client: SapClient,
  jobId: string,
  releases: Releases,
  batchSize: number,
  dtype: WireDtype,
  dumpWire?: string,
): Promise<number> {
  let correct = 0;
  const n = releases.devSize;
  for (let i = 0; i < n; i += batchSize) {
    const { frame, labels } = tidy(() => {
      const { wire, labels } = releases.devBatch(i, Math.min(n, i + batchSize));
      return { frame: batchToFrame(wire, 0, dtype, false), labels };
    });
    if (dumpWire) appendFileSync(dumpWire, frame);
    const { logits, classes } = frameToLogits(await client.predict(jobId, frame));
    const pred = predictedClasses(logits, classes);
    for (let b = 0; b < labels.length; b++) correct += pred[b] === labels[b] ? 1 : 0;
  }
  return n ? correct / n : Number.NaN;
}

/** Where the customer keeps a job's release key (it regenerates the job's privatized set; never sent). */
export function releaseKeyPath(cacheDir: string, jobId: string): string {
  return join(cacheDir, "jobs", jobId, "release.key");
}

/** Where the customer keeps a job's CTI table (built from its training data; never sent). */
export function ctiTablePath(cacheDir: string, jobId: string): string {
  return join(cacheDir, "jobs", jobId, "cti-table.json");
}

/** `sap client predict`: texts -> bottom + the job's privatizer here -> logits from the vendor. */
export async function clientPredict(
  client: SapClient,
  jobId: string,
  texts: string[],
  opts: { cacheDir: string; noiseSeed?: number; privatizer?: MechanismSpec; wireDtype?: WireDtype; ctiTable?: string },
): Promise<Prediction[]> {
  const job = await client.job(jobId);
  const spec = job.spec;
  const bottomDir = join(opts.cacheDir, spec.model, `k${spec.split}`);
  await client.downloadBottom(spec.model, spec.split, bottomDir);
  const model = loadBottom(bottomDir, spec.split);
  const tok = loadTokenizer(bottomDir);
  let mech = opts.privatizer ?? { name: spec.privatizer.name, params: spec.privatizer.params };
  if (mech.name === "cti" && typeof mech.params.table !== "string") {
    const table = opts.ctiTable ?? ctiTablePath(opts.cacheDir, jobId);
    if (!existsSync(table))
      throw new Error(
        `job ${jobId} used CTI, whose token budgets come from the training data; ${table} (written by sap client finetune) ` +
          `is missing: use the same --cache, or give the table with --cti-table PATH`,
      );
    mech = { ...mech, params: { ...mech.params, table } };
  }
  const privatizer = buildPrivatizer(mech, model, tok, [], spec.labels.length);
  const customer = new Customer({ model, split: spec.split, privatizer, noise: noiseSource(opts.noiseSeed) });
  const items = encodeExamples(
    tok,
    texts.map((text) => ({ text, label: 0 })),
    spec.hyper.maxSeqLen,
  );
  const { batch } = collate(items, tok.padId);
  const frame = tidy(() => batchToFrame(customer.encode(batch), 0, opts.wireDtype ?? "f32", false));
  const { logits } = frameToLogits(await client.predict(jobId, frame));
  return toPredictions(texts, logits, spec.labels);
}
