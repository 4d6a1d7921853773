// Between the split protocol's WireBatch (what the parties compute on) and wire frames (what the
// network carries), plus the byte counters both sides keep per training step.
import type { WireBatch } from "./protocol.js";
import { DType, MessageType, decodeFrame, encodeFrame, WireError, type DecodeLimits, type Frame } from "./frame.js";

/** A batch's sizes agree with each other and with the receiving model's width. */
export function checkWire(wire: WireBatch, expectDim: number): void {
  const { batchSize: B, seqLen: T, dim } = wire;
  if (dim !== expectDim) throw new Error(`wire batch has representations of size ${dim}; the model expects ${expectDim}`);
  if (wire.hidden.length !== B * T * dim)
    throw new Error(`wire batch holds ${wire.hidden.length} values, expected B*T*d = ${B * T * dim}`);
  if (wire.attentionMask.length !== B * T)
    throw new Error(`wire batch mask has ${wire.attentionMask.length} entries, expected ${B * T}`);
  if (wire.labels && wire.labels.length !== B) throw new Error(`wire batch has ${wire.labels.length} labels for ${B} rows`);
}

export type WireDtype = "f32" | "f16";

export function dtypeCode(d: WireDtype): DType {
  return d === "f16" ? DType.F16 : DType.F32;
}

/** A WireBatch as a training (labels given) or predict frame. */
export function batchToFrame(wire: WireBatch, seq: number, dtype: WireDtype, withLabels: boolean): Uint8Array {
  if (withLabels && !wire.labels) throw new Error("a training frame needs labels");
  return encodeFrame({
    type: withLabels ? MessageType.TrainBatch : MessageType.PredictBatch,
    dtype: dtypeCode(dtype),
    seq,
    shape: [wire.batchSize, wire.seqLen, wire.dim],
    values: wire.hidden,
    mask: Uint8Array.from(wire.attentionMask),
    labels: withLabels ? wire.labels : undefined,
  });
}

/** A decoded batch frame back into the WireBatch the Vendor consumes. */
export function frameToBatch(frame: Frame): WireBatch {
  if (frame.type !== MessageType.TrainBatch && frame.type !== MessageType.PredictBatch)
    throw new WireError("bad_message_type", `expected a batch frame, got message type ${frame.type}`);
  const [batchSize, seqLen, dim] = frame.shape as [number, number, number];
  return {
    batchSize,
    seqLen,
    dim,
    hidden: frame.values,
    attentionMask: Int32Array.from(frame.mask!),
    labels: frame.labels,
  };
}

export function logitsToFrame(logits: Float32Array, rows: number, seq: number): Uint8Array {
  return encodeFrame({ type: MessageType.Logits, dtype: DType.F32, seq, shape: [rows, logits.length / rows], values: logits });
}

export function frameToLogits(
  bytes: Uint8Array,
  limits: DecodeLimits = {},
): { logits: Float32Array; rows: number; classes: number } {
  const f = decodeFrame(bytes, limits);
  if (f.type !== MessageType.Logits) throw new WireError("bad_message_type", `expected logits, got message type ${f.type}`);
  return { logits: f.values, rows: f.shape[0]!, classes: f.shape[1]! };
}

/** Bytes in each direction; kept by client and server alike, per job. */
export class ByteCounter {
  sent = 0;
  received = 0;
  trainSteps = 0;
  /** Bytes (both directions) attributed to training steps. */
  trainBytes = 0;

  step(sent: number, received: number): void {
    this.sent += sent;
    this.received += received;
    this.trainSteps++;
    this.trainBytes += sent + received;
  }

  other(sent: number, received: number): void {
    this.sent += sent;
    this.received += received;
  }

  get bytesPerStep(): number {
    return this.trainSteps ? this.trainBytes / this.trainSteps : 0;
  }
}

/** The class each row of logits [rows, classes] points to (first maximum on ties). */
export function predictedClasses(logits: Float32Array, classes: number): Int32Array {
  const rows = classes > 0 ? logits.length / classes : 0;
  const out = new Int32Array(rows);
  for (let b = 0; b < rows; b++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[b * classes + c]! > logits[b * classes + best]!) best = c;
    out[b] = best;
  }
  return out;
}

export interface Prediction {
  text: string;
  label: string;
  probabilities: Record<string, number>;
}

/** Logits back into labelled predictions (softmax per row), for `sap predict` and `sap client predict`. */
export function toPredictions(texts: string[], logits: Float32Array, labels: string[]): Prediction[] {
  const C = labels.length;
  return texts.map((text, b) => {
    const row = Array.from(logits.subarray(b * C, (b + 1) * C));
    const mx = Math.max(...row);
    const ex = row.map((v) => Math.exp(v - mx));
    const z = ex.reduce((a, c) => a + c, 0);
    return {
      text,
      label: labels[row.indexOf(mx)]!,
      probabilities: Object.fromEntries(labels.map((l, i) => [l, ex[i]! / z])),
    };
  });
}

/** Examples given as their real-token rows [length, d] → one batch, zero-padded to the longest. */
export function padRows(rows: readonly Float32Array[], dim: number, labels?: Int32Array): WireBatch {
  const T = Math.max(...rows.map((r) => r.length / dim));
  const B = rows.length;
  const hidden = new Float32Array(B * T * dim);
  const attentionMask = new Int32Array(B * T);
  rows.forEach((r, b) => {
    hidden.set(r, b * T * dim);
    attentionMask.fill(1, b * T, b * T + r.length / dim);
  });
  return { batchSize: B, seqLen: T, dim, hidden, attentionMask, labels };
}
