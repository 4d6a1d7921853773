// Reading a data file into checked text: transparent gunzip, UTF-8 only (BOM stripped; UTF-16,
// NUL bytes and invalid byte sequences rejected with the line they occur on).
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { DatasetError } from "./types.js";

const NEWLINE = 0x0a;

/** 1-based line of a byte offset: one more than the newlines before it. */
function lineOfByte(buf: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (buf[i] === NEWLINE) line++;
  return line;
}

/**
 * The line holding the first invalid UTF-8 sequence. Splitting on 0x0A is safe because that byte
 * never occurs inside a multi-byte UTF-8 sequence.
 */
function firstInvalidUtf8Line(buf: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  for (let line = 1; start <= buf.length; line++) {
    let end = buf.indexOf(NEWLINE, start);
    if (end < 0) end = buf.length;
    try {
      decoder.decode(buf.subarray(start, end));
    } catch {
      return line;
    }
    start = end + 1;
  }
  return 1;
}

/** The whole file as a string, or a DatasetError naming the file (and line) that cannot be read as UTF-8 text. */
export function readTextFile(file: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(file, undefined, code === "ENOENT" ? "file not found" : `cannot read: ${(err as Error).message}`);
  }
  // Gzip is recognised by its magic bytes, so a mis-named file still reads.
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new DatasetError(file, undefined, `corrupt gzip data: ${(err as Error).message}`);
    }
  } else if (file.endsWith(".gz")) {
    throw new DatasetError(file, undefined, "named .gz but is not gzip-compressed");
  }
  if (buf.length === 0) throw new DatasetError(file, 1, "the file is empty");
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
    const order = buf[0] === 0xff ? "little-endian" : "big-endian";
    throw new DatasetError(file, 1, `the file is UTF-16 (${order} byte-order mark); it must be UTF-8 (re-save it as UTF-8)`);
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) {
    throw new DatasetError(
      file,
      lineOfByte(buf, nul),
      "contains a NUL byte; the file must be UTF-8 text (is it UTF-16 without a byte-order mark, or binary?)",
    );
  }
  let text: string;
  try {
    // ignoreBOM: false (the default) drops a leading UTF-8 byte-order mark.
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new DatasetError(
      file,
      firstInvalidUtf8Line(buf),
      "invalid UTF-8; the file must be UTF-8 (is it Latin-1 or Windows-1252? re-save it as UTF-8)",
    );
  }
  if (text.trim() === "") throw new DatasetError(file, 1, "the file is empty (only whitespace)");
  return text;
}
