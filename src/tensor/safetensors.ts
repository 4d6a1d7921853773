// safetensors read/write: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. F32, F16 and BF16 load
// as float32; we write F32 or F16. Every malformed file gets an error naming file and tensor.
import { closeSync, openSync, readFileSync, renameSync, writeSync, fsyncSync } from "node:fs";
import { floatToHalf, halfToFloatTable } from "./half.js";
import { sizeOf } from "./tensor.js";

export { floatToHalf };

export type SafeDtype = "F32" | "F16" | "BF16";

export interface LoadedTensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, LoadedTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  constructor(file: string, msg: string) {
    super(`${file}: ${msg}`);
    this.name = "SafetensorsError";
  }
}

function decode(file: string, name: string, dtype: string, bytes: Buffer): Float32Array {
  const n = bytes.length / BYTES[dtype]!;
  const out = new Float32Array(n);
  if (dtype === "F32") {
    new Uint8Array(out.buffer).set(bytes);
  } else if (dtype === "F16") {
    const t = halfToFloatTable();
    for (let i = 0; i < n; i++) out[i] = t[bytes.readUInt16LE(2 * i)]!;
  } else if (dtype === "BF16") {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = bytes.readUInt16LE(2 * i) << 16;
  } else if (dtype === "F64") {
    for (let i = 0; i < n; i++) out[i] = bytes.readDoubleLE(8 * i);
  } else {
    throw new SafetensorsError(file, `tensor ${name} has dtype ${dtype}; only F32, F16, BF16 and F64 load as float32`);
  }
  return out;
}

/** Parses a safetensors file held in memory. `file` names it in errors. */
export function parseSafetensors(buf: Buffer, file = "<buffer>"): SafetensorsFile {
  if (buf.length < 8)
    throw new SafetensorsError(file, `file is ${buf.length} bytes, too short for a safetensors header (corrupt or truncated)`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER || 8 + headerLen > buf.length)
    throw new SafetensorsError(
      file,
      `header length ${headerLen} exceeds the file size ${buf.length} (corrupt or truncated, or not a safetensors file)`,
    );
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON (corrupt file): ${(e as Error).message}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    throw new SafetensorsError(file, "header is not a JSON object");
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, LoadedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(info?.dtype);
    if (!(dtype in BYTES)) throw new SafetensorsError(file, `tensor ${name} has unknown dtype ${dtype}`);
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new SafetensorsError(file, `tensor ${name} has an invalid shape ${JSON.stringify(info.shape)}`);
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0) || offs[0] > offs[1])
      throw new SafetensorsError(file, `tensor ${name} has invalid data_offsets ${JSON.stringify(offs)}`);
    const [begin, end] = offs as [number, number];
    const shape = info.shape as number[];
    const expected = sizeOf(shape) * BYTES[dtype]!;
    if (end - begin !== expected)
      throw new SafetensorsError(
        file,
        `tensor ${name}: ${end - begin} bytes stored but shape [${shape.join(", ")}] of ${dtype} needs ${expected}`,
      );
    if (end > dataLen)
      throw new SafetensorsError(
        file,
        `tensor ${name} ends at byte ${end} but the data section has ${dataLen} bytes (truncated file)`,
      );
    tensors.set(name, { dtype, shape, data: decode(file, name, dtype, buf.subarray(dataStart + begin, dataStart + end)) });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(path, `cannot read: ${(e as Error).message}`);
  }
  return parseSafetensors(buf, path);
}

export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
}

/** Serialises tensors (sorted by name, 8-byte aligned header) as F32 or F16. */
export function serializeSafetensors(
  tensors: Map<string, TensorToWrite> | Array<[string, TensorToWrite]>,
  opts: { dtype?: "F32" | "F16"; metadata?: Record<string, string> } = {},
): Buffer {
  const dtype = opts.dtype ?? "F32";
  const width = BYTES[dtype]!;
  const entries = [...(tensors instanceof Map ? tensors.entries() : tensors)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (sizeOf(t.shape) !== t.data.length)
      throw new Error(`tensor ${name}: shape [${t.shape.join(", ")}] does not match ${t.data.length} values`);
    const bytes = t.data.length * width;
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    if (dtype === "F32") {
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
      at += t.data.byteLength;
    } else {
      for (let i = 0; i < t.data.length; i++, at += 2) out.writeUInt16LE(floatToHalf(t.data[i]!), at);
    }
  }
  return out;
}

/** Writes atomically: a temporary file fsynced, then renamed over the target. */
export function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite> | Array<[string, TensorToWrite]>,
  opts: { dtype?: "F32" | "F16"; metadata?: Record<string, string> } = {},
): void {
  const buf = serializeSafetensors(tensors, opts);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, buf);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
