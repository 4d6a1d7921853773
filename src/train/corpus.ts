// Text corpora for pre-training: plain text (.txt), gzipped text (.gz), JSON lines with a "text"
// field (.jsonl, .jsonl.gz), or folders of those. Documents are split on blank lines for text
// files and one per line for JSON lines; each becomes token ids packed into fixed-length blocks.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Tokenizer } from "../models/tokenizers/index.js";

export class CorpusError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "CorpusError";
  }
}

function expand(path: string): string[] {
  if (!existsSync(path)) throw new CorpusError(`${path}: no such file or folder`);
  if (statSync(path).isDirectory())
    return readdirSync(path)
      .sort()
      .flatMap((f) => expand(join(path, f)))
      .filter((f) => /\.(txt|gz|jsonl)$/.test(f));
  return [path];
}

function decodeUtf8(buf: Buffer, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new CorpusError(`${path}: not valid UTF-8 text`);
  }
}

/** Documents of one file. */
export function readDocuments(path: string): string[] {
  let buf = readFileSync(path);
  if (path.endsWith(".gz")) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new CorpusError(`${path}: not a valid gzip file (${(e as Error).message})`);
    }
  }
  const text = decodeUtf8(buf, path);
  if (/\.jsonl(\.gz)?$/.test(path)) {
    const docs: string[] = [];
    text.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        throw new CorpusError(`${path}:${i + 1}: not valid JSON`);
      }
      const t = (obj as { text?: unknown }).text;
      if (typeof t !== "string") throw new CorpusError(`${path}:${i + 1}: no "text" string field`);
      docs.push(t.replace(/<br\s*\/?>/g, " "));
    });
    return docs;
  }
  return text
    .split(/\n\s*\n/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

export interface PackedCorpus {
  /** Token blocks, each exactly blockLen ids long (without special tokens). */
  blocks: Int32Array[];
  documents: number;
  tokens: number;
  files: string[];
}

/**
 * Tokenises every document and packs the stream (documents separated by `separatorId`) into
 * blocks of `blockLen` ids; the tail shorter than a block is dropped.
 */
export function packCorpus(
  paths: string[],
  tokenizer: Tokenizer,
  blockLen: number,
  separatorId: number,
  onFile?: (file: string, docs: number) => void,
): PackedCorpus {
  const files = paths.flatMap(expand);
  if (!files.length) throw new CorpusError(`no text files (.txt, .gz, .jsonl) under ${paths.join(", ")}`);
  const blocks: Int32Array[] = [];
  let cur = new Int32Array(blockLen);
  let fill = 0;
  let documents = 0;
  let tokens = 0;
  const push = (id: number): void => {
    cur[fill++] = id;
    if (fill === blockLen) {
      blocks.push(cur);
      cur = new Int32Array(blockLen);
      fill = 0;
    }
  };
  for (const f of files) {
    const docs = readDocuments(f);
    for (const d of docs) {
      const ids = tokenizer.encode(d, undefined, { addSpecialTokens: false, truncation: false }).ids;
      if (!ids.length) continue;
      for (const id of ids) push(id);
      push(separatorId);
      tokens += ids.length;
      documents++;
    }
    onFile?.(f, docs.length);
  }
  return { blocks, documents, tokens, files };
}
