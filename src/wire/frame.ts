// The SAP wire format: one binary frame per message (a batch of privatized representations, or
// logits back), a small versioned header, raw little-endian float payloads and a CRC32 trailer.
// docs/wire-format.md is the normative description; this file and that one must agree.
import { floatToHalf as toHalf, halfToFloat as fromHalf } from "../tensor/half.js";

export const WIRE_MAGIC = 0x57504153; // "SAPW" read as a little-endian uint32
/**
 * 2: padding rows (mask 0) of batch frames are all zeros. Version 1 sent them as the bottom
 * computed them, a function of the text after k >= 1 layers: it is refused.
 */
export const WIRE_VERSION = 2;
/** Fixed part of the header, before the shape dims. */
export const FIXED_HEADER_BYTES = 28;
export const MAX_RANK = 4;
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export enum MessageType {
  /** Privatized representations [B, T, d] + mask + labels: one optimisation step. */
  TrainBatch = 1,
  /** Privatized representations [B, T, d] + mask, no labels: evaluation or inference; answered with Logits. */
  PredictBatch = 2,
  /** Logits [B, C]. */
  Logits = 3,
}

export enum DType {
  F32 = 1,
  F16 = 2,
}

const FLAG_MASK = 1;
const FLAG_LABELS = 2;

export type WireErrorCode =
  | "truncated"
  | "bad_magic"
  | "bad_version"
  | "bad_message_type"
  | "bad_dtype"
  | "bad_shape"
  | "length_mismatch"
  | "checksum_mismatch"
  | "non_finite"
  | "bad_mask"
  | "bad_labels"
  | "bad_padding"
  | "too_large"
  /** A well-formed batch whose sequence length T is above the receiver's limit (the job's maxSeqLen). */
  | "too_long"
  /** A well-formed batch with more rows B than the receiver takes in one batch. */
  | "too_many_rows";

/** A frame that failed validation; `code` is stable, `message` says what was wrong. */
export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(`wire frame rejected (${code}): ${message}`);
  }
}

export interface Frame {
  type: MessageType;
  /** Transport dtype of `values` (decoded values are always float32 in memory). */
  dtype: DType;
  /** Caller-chosen id; for training batches the step's sequence number (1, 2, ...). */
  seq: number;
  shape: number[];
  values: Float32Array;
  /** uint8 0/1, one per [B, T] position (batch messages). */
  mask?: Uint8Array;
  /** int32 class ids, one per row (training batches). */
  labels?: Int32Array;
}

export interface DecodeLimits {
  /** Whole frames larger than this are refused before their payload is read. */
  maxFrameBytes?: number;
  /** Largest class id a label may carry (exclusive). */
  numLabels?: number;
}

// --- CRC32 (IEEE 802.3, the zlib/PNG polynomial) ------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// --- float16 ----------------------------------------------------------------------------------

/** IEEE binary16 bits of a float (round to nearest even) and back: one implementation, src/tensor/half.ts. */
export { toHalf, fromHalf };

// --- encoder ---------------------------------------------------------------------------------

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Frame -> bytes. Refuses what the decoder would refuse, so bad data fails at its source. */
export function encodeFrame(frame: Frame): Uint8Array {
  const { shape, values, mask, labels } = frame;
  if (shape.length < 1 || shape.length > MAX_RANK)
    throw new WireError("bad_shape", `rank ${shape.length} is outside 1..${MAX_RANK}`);
  for (const d of shape)
    if (!Number.isInteger(d) || d < 1 || d > 0xffffffff)
      throw new WireError("bad_shape", `dimension ${d} is not a positive integer`);
  const n = elementCount(shape);
  if (values.length !== n)
    throw new WireError("length_mismatch", `shape [${shape.join(", ")}] needs ${n} values, got ${values.length}`);
  if (!Number.isSafeInteger(frame.seq) || frame.seq < 0)
    throw new WireError("bad_shape", `sequence id ${frame.seq} is not a non-negative integer`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(values[i]!)) throw new WireError("non_finite", `value ${i} is ${values[i]}`);
  const width = frame.dtype === DType.F16 ? 2 : frame.dtype === DType.F32 ? 4 : 0;
  if (!width) throw new WireError("bad_dtype", `dtype ${String(frame.dtype)} is not f32 (1) or f16 (2)`);
  const rows = shape[0]!;
  const maskLen = mask ? maskPositions(shape) : 0;
  if (mask && mask.length !== maskLen)
    throw new WireError("length_mismatch", `mask has ${mask.length} entries, expected ${maskLen}`);
  if (mask) checkPadding(values, mask, shape[shape.length - 1]!);
  if (labels && labels.length !== rows) throw new WireError("length_mismatch", `${labels.length} labels for ${rows} rows`);
  const headerBytes = FIXED_HEADER_BYTES + 4 * shape.length;
  const payload = n * width + maskLen + (labels ? 4 * rows : 0);
  const out = new Uint8Array(headerBytes + payload + 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, WIRE_MAGIC, true);
  dv.setUint8(4, WIRE_VERSION);
  dv.setUint8(5, frame.type);
  dv.setUint8(6, frame.dtype);
  dv.setUint8(7, shape.length);
  dv.setBigUint64(8, BigInt(frame.seq), true);
  dv.setUint32(16, (mask ? FLAG_MASK : 0) | (labels ? FLAG_LABELS : 0), true);
  dv.setUint32(20, payload, true);
  dv.setUint32(24, 0, true); // reserved, must be zero
  shape.forEach((d, i) => dv.setUint32(FIXED_HEADER_BYTES + 4 * i, d, true));
  let off = headerBytes;
  if (width === 4) for (let i = 0; i < n; i++, off += 4) dv.setFloat32(off, values[i]!, true);
  else
    for (let i = 0; i < n; i++, off += 2) {
      const h = toHalf(values[i]!);
      if ((h & 0x7c00) === 0x7c00) throw new WireError("non_finite", `value ${i} (${values[i]}) overflows float16`);
      dv.setUint16(off, h, true);
    }
  if (mask) for (let i = 0; i < maskLen; i++) out[off++] = mask[i] ? 1 : 0;
  if (labels) for (let i = 0; i < rows; i++, off += 4) dv.setInt32(off, labels[i]!, true);
  dv.setUint32(off, crc32(out, 0, off), true);
  return out;
}

/** Mask positions of a batch shape: every axis but the last ([B, T] of [B, T, d]). */
function maskPositions(shape: number[]): number {
  return shape.length < 2 ? shape[0]! : elementCount(shape.slice(0, -1));
}

// --- decoder ---------------------------------------------------------------------------------

/** Total length of the frame starting at `bytes[offset]`, from its header alone (for dump files). */
export function frameLength(bytes: Uint8Array, offset = 0): number {
  if (bytes.length - offset < FIXED_HEADER_BYTES)
    throw new WireError("truncated", `${bytes.length - offset} bytes is shorter than a header (${FIXED_HEADER_BYTES})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.length - offset);
  const rank = dv.getUint8(7);
  return FIXED_HEADER_BYTES + 4 * rank + dv.getUint32(20, true) + 4;
}

/** Padding rows must be all zeros: nothing derived from the text crosses the wire un-noised. */
function checkPadding(values: Float32Array, mask: Uint8Array, d: number): void {
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) continue;
    for (let j = i * d; j < (i + 1) * d; j++)
      if (values[j] !== 0)
        throw new WireError(
          "bad_padding",
          `position ${i} is padding (mask 0) but carries non-zero values; padding rows must be zeros`,
        );
  }
}

/** Bytes -> frame, validating everything; throws WireError naming the first problem found. */
export function decodeFrame(bytes: Uint8Array, limits: DecodeLimits = {}): Frame {
  const maxBytes = limits.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (bytes.length > maxBytes) throw new WireError("too_large", `${bytes.length} bytes exceeds the limit of ${maxBytes}`);
  if (bytes.length < FIXED_HEADER_BYTES + 4)
    throw new WireError("truncated", `${bytes.length} bytes is shorter than the smallest frame (${FIXED_HEADER_BYTES + 8})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const magic = dv.getUint32(0, true);
  if (magic !== WIRE_MAGIC) throw new WireError("bad_magic", `magic 0x${magic.toString(16).padStart(8, "0")} is not "SAPW"`);
  const version = dv.getUint8(4);
  if (version === 1)
    throw new WireError(
      "bad_version",
      "version 1 frames carried padding rows computed from the text and are no longer accepted; update the sender (sap >= 0.2 speaks version 2)",
    );
  if (version !== WIRE_VERSION)
    throw new WireError("bad_version", `version ${version} is not supported (this build speaks ${WIRE_VERSION})`);
  const type = dv.getUint8(5);
  if (!(type in MessageType) || typeof MessageType[type] !== "string")
    throw new WireError("bad_message_type", `message type ${type} is unknown (1 train batch, 2 predict batch, 3 logits)`);
  const dtype = dv.getUint8(6);
  if (dtype !== DType.F32 && dtype !== DType.F16) throw new WireError("bad_dtype", `dtype ${dtype} is not f32 (1) or f16 (2)`);
  const rank = dv.getUint8(7);
  if (rank < 1 || rank > MAX_RANK) throw new WireError("bad_shape", `rank ${rank} is outside 1..${MAX_RANK}`);
  const seqBig = dv.getBigUint64(8, true);
  if (seqBig > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError("bad_shape", `sequence id ${seqBig} exceeds 2^53 - 1`);
  const flags = dv.getUint32(16, true);
  if (flags & ~(FLAG_MASK | FLAG_LABELS)) throw new WireError("bad_shape", `unknown flag bits 0x${flags.toString(16)}`);
  const payload = dv.getUint32(20, true);
  if (dv.getUint32(24, true) !== 0) throw new WireError("bad_shape", "reserved header word is not zero");
  const headerBytes = FIXED_HEADER_BYTES + 4 * rank;
  const total = headerBytes + payload + 4;
  if (total > maxBytes) throw new WireError("too_large", `header declares ${total} bytes, over the limit of ${maxBytes}`);
  if (bytes.length < total) throw new WireError("truncated", `header declares ${total} bytes, only ${bytes.length} arrived`);
  if (bytes.length > total)
    throw new WireError("length_mismatch", `${bytes.length - total} bytes follow the declared end of the frame`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const d = dv.getUint32(FIXED_HEADER_BYTES + 4 * i, true);
    if (d < 1) throw new WireError("bad_shape", `dimension ${i} is 0`);
    shape.push(d);
  }
  const stored = dv.getUint32(total - 4, true);
  const actual = crc32(bytes, 0, total - 4);
  if (stored !== actual)
    throw new WireError(
      "checksum_mismatch",
      `CRC32 0x${stored.toString(16)} in the frame, 0x${actual.toString(16)} computed (corrupted in transit?)`,
    );
  const n = elementCount(shape);
  const width = dtype === DType.F16 ? 2 : 4;
  const hasMask = (flags & FLAG_MASK) !== 0;
  const hasLabels = (flags & FLAG_LABELS) !== 0;
  const maskLen = hasMask ? maskPositions(shape) : 0;
  const expected = n * width + maskLen + (hasLabels ? 4 * shape[0]! : 0);
  if (expected !== payload)
    throw new WireError(
      "length_mismatch",
      `shape [${shape.join(", ")}] as ${dtype === DType.F16 ? "f16" : "f32"}${hasMask ? " + mask" : ""}${hasLabels ? " + labels" : ""} needs ${expected} payload bytes, header says ${payload}`,
    );
  if (type === MessageType.TrainBatch && (rank !== 3 || !hasMask || !hasLabels))
    throw new WireError(
      "bad_shape",
      `a training batch needs shape [B, T, d], a mask and labels (got rank ${rank}${hasMask ? "" : ", no mask"}${hasLabels ? "" : ", no labels"})`,
    );
  if (type === MessageType.PredictBatch && (rank !== 3 || !hasMask))
    throw new WireError(
      "bad_shape",
      `a predict batch needs shape [B, T, d] and a mask (got rank ${rank}${hasMask ? "" : ", no mask"})`,
    );
  if (type === MessageType.Logits && (rank !== 2 || hasMask || hasLabels))
    throw new WireError("bad_shape", `logits need shape [B, C] and no mask or labels (got rank ${rank})`);
  const values = new Float32Array(n);
  let off = headerBytes;
  if (width === 4) for (let i = 0; i < n; i++, off += 4) values[i] = dv.getFloat32(off, true);
  else for (let i = 0; i < n; i++, off += 2) values[i] = fromHalf(dv.getUint16(off, true));
  for (let i = 0; i < n; i++)
    if (!Number.isFinite(values[i]!)) throw new WireError("non_finite", `value ${i} (flat index) is ${values[i]}`);
  let mask: Uint8Array | undefined;
  if (hasMask) {
    mask = bytes.slice(off, off + maskLen);
    off += maskLen;
    for (let i = 0; i < maskLen; i++)
      if (mask[i]! > 1) throw new WireError("bad_mask", `mask entry ${i} is ${mask[i]}, not 0 or 1`);
    checkPadding(values, mask, shape[shape.length - 1]!);
  }
  let labels: Int32Array | undefined;
  if (hasLabels) {
    labels = new Int32Array(shape[0]!);
    for (let i = 0; i < labels.length; i++, off += 4) {
      const l = dv.getInt32(off, true);
      if (l < 0 || (limits.numLabels !== undefined && l >= limits.numLabels))
        throw new WireError("bad_labels", `label ${i} is ${l}, outside 0..${(limits.numLabels ?? 2 ** 31) - 1}`);
      labels[i] = l;
    }
  }
  return { type, dtype, seq: Number(seqBig), shape, values, mask, labels };
}

/** Splits a dump file (concatenated frames) into decoded frames. */
export function decodeFrames(bytes: Uint8Array, limits: DecodeLimits = {}): Frame[] {
  const out: Frame[] = [];
  for (let off = 0; off < bytes.length;) {
    const len = frameLength(bytes, off);
    if (off + len > bytes.length)
      throw new WireError(
        "truncated",
        `frame at byte ${off} declares ${len} bytes, the file ends ${bytes.length - off} bytes later`,
      );
    out.push(decodeFrame(bytes.subarray(off, off + len), limits));
    off += len;
  }
  return out;
}
