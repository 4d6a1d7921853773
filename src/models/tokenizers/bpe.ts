// GPT-2's byte-level BPE: split the text with GPT-2's regex, map each piece's UTF-8 bytes to
// printable characters, merge by rank. Lossless: decode gives back the exact text. Offsets point at
// the characters whose bytes a token holds (a token with part of an emoji spans the whole emoji).
import { readFileSync } from "node:fs";
import { BaseTokenizer, type AddedToken, type PostTemplate, type SpecialTokenNames, type TokenSpan } from "./base.js";
import { TokenizerError } from "./types.js";

/** GPT-2's pre-tokenizer pattern, with \s as Unicode White_Space (what the Rust tokenizers' regex engine means by it). */
const GPT2_SPLIT_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

export interface ByteLevelBpeTokenizerInit {
  /** Token -> id, as in vocab.json / encoder.json. */
  vocab: Map<string, number>;
  /** Merges in rank order, each the pair of tokens it joins. */
  merges: [string, string][];
  /** Defaults to <|endoftext|> for bos, eos, unk and padding (when in the vocabulary). */
  specialTokens?: SpecialTokenNames;
  addedTokens?: AddedToken[];
  /** Defaults to no special tokens around the texts (GPT-2). */
  template?: PostTemplate;
  /** Put a space before the text, so that its first word is tokenised like any other (RoBERTa-style option). */
  addPrefixSpace?: boolean;
  modelMaxLength?: number;
}

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others are shifted to 256 and up. */
function byteToCharTable(): string[] {
  const table = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return table;
}

export const BYTE_TO_CHAR: readonly string[] = byteToCharTable();
const CHAR_TO_BYTE = new Map<string, number>(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** merges.txt / vocab.bpe: an optional "#version" line, then one "left right" pair per line. */
export function parseMerges(text: string): [string, string][] {
  const merges: [string, string][] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    const parts = line.split(" ");
    if (parts.length !== 2) throw new TokenizerError(`merges line ${i + 1} is not "left right": ${JSON.stringify(line)}`);
    merges.push([parts[0]!, parts[1]!]);
  }
  return merges;
}

export function parseVocabJson(text: string): Map<string, number> {
  const raw: unknown = JSON.parse(text);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new TokenizerError("vocab.json is not an object of token -> id");
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(raw)) {
    if (!Number.isInteger(id) || (id as number) < 0)
      throw new TokenizerError(`vocab.json: id of ${JSON.stringify(tok)} is not an id`);
    vocab.set(tok, id as number);
  }
  return vocab;
}

const CACHE_LIMIT = 100_000;

/** Byte-level BPE result of one piece: [id, byte length, ...]. */
type PieceTokens = number[];

export class ByteLevelBpeTokenizer extends BaseTokenizer {
  readonly kind = "bpe" as const;
  readonly addPrefixSpace: boolean;
  private readonly ranks = new Map<string, number>();
  private readonly pieceCache = new Map<string, PieceTokens>();

  constructor(init: ByteLevelBpeTokenizerInit) {
    const eot = "<|endoftext|>";
    const names = init.specialTokens ?? (init.vocab.has(eot) ? { bos: eot, eos: eot, unk: eot, pad: eot } : {});
    super({
      vocab: init.vocab,
      specialTokens: names,
      addedTokens: init.addedTokens,
      template: init.template ?? {
        single: [{ sequence: 0, typeId: 0 }],
        pair: [
          { sequence: 0, typeId: 0 },
          { sequence: 1, typeId: 1 },
        ],
      },
      modelMaxLength: init.modelMaxLength,
    });
    this.addPrefixSpace = init.addPrefixSpace ?? false;
    // A pair's key joins its halves with a space, which byte-level tokens never contain.
    init.merges.forEach(([a, b], rank) => {
      const key = a + " " + b;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
  }

  /** From the texts of vocab.json (encoder.json) and merges.txt (vocab.bpe). */
  static fromText(
    vocabJson: string,
    mergesTxt: string,
    opts: Omit<ByteLevelBpeTokenizerInit, "vocab" | "merges"> = {},
  ): ByteLevelBpeTokenizer {
    return new ByteLevelBpeTokenizer({ ...opts, vocab: parseVocabJson(vocabJson), merges: parseMerges(mergesTxt) });
  }

  static fromFiles(
    vocabPath: string,
    mergesPath: string,
    opts: Omit<ByteLevelBpeTokenizerInit, "vocab" | "merges"> = {},
  ): ByteLevelBpeTokenizer {
    return ByteLevelBpeTokenizer.fromText(readFileSync(vocabPath, "utf8"), readFileSync(mergesPath, "utf8"), opts);
  }

  protected tokenizeSegment(segment: string, base: number, out: TokenSpan): void {
    // As in Rust tokenizers, every stretch between special tokens gets the prefix space. It belongs to
    // no input character: it gets the empty span where the stretch starts.
    let text = segment;
    let shift = 0;
    if (this.addPrefixSpace && !segment.startsWith(" ")) {
      text = " " + segment;
      shift = 1;
    }
    GPT2_SPLIT_PATTERN.lastIndex = 0;
    for (let m = GPT2_SPLIT_PATTERN.exec(text); m !== null; m = GPT2_SPLIT_PATTERN.exec(text)) {
      this.tokenizePiece(m[0], base + m.index - shift, shift > 0 && m.index === 0, out);
    }
  }

  protected decodeTokens(tokens: string[], added: boolean[]): string {
    const decoder = new TextDecoder("utf-8");
    let text = "";
    let bytes: number[] = [];
    const flushBytes = (): void => {
      if (bytes.length > 0) text += decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    tokens.forEach((tok, i) => {
      if (added[i]) {
        flushBytes();
        text += tok;
        return;
      }
      for (const ch of tok) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b === undefined) throw new TokenizerError(`token ${JSON.stringify(tok)} is not byte-level`);
        bytes.push(b);
      }
    });
    flushBytes();
    return text;
  }

  /** `start` is where the piece begins in the input; `prefixed` says its first character is the added prefix space. */
  private tokenizePiece(piece: string, start: number, prefixed: boolean, out: TokenSpan): void {
    // Map the piece to byte characters, noting for each byte the input character it came from.
    let mapped = "";
    let ascii = !prefixed;
    for (let i = 0; i < piece.length && ascii; i++) if (piece.charCodeAt(i) >= 128) ascii = false;
    let byteStarts: number[] | undefined;
    let byteEnds: number[] | undefined;
    if (ascii) {
      for (let i = 0; i < piece.length; i++) mapped += BYTE_TO_CHAR[piece.charCodeAt(i)];
    } else {
      byteStarts = [];
      byteEnds = [];
      for (let i = 0; i < piece.length;) {
        const cp = piece.codePointAt(i)!;
        const len = cp > 0xffff ? 2 : 1;
        const bytes = utf8Bytes(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp); // a lone surrogate encodes as U+FFFD, as TextEncoder does
        const s = prefixed && i === 0 ? start + 1 : start + i;
        const e = prefixed && i === 0 ? start + 1 : start + i + len;
        for (const b of bytes) {
          mapped += BYTE_TO_CHAR[b];
          byteStarts.push(s);
          byteEnds.push(e);
        }
        i += len;
      }
    }
    let tokens = this.pieceCache.get(mapped);
    if (tokens === undefined) {
      tokens = this.bpe(mapped);
      if (this.pieceCache.size < CACHE_LIMIT) this.pieceCache.set(mapped, tokens);
    }
    let byte = 0;
    for (let t = 0; t < tokens.length; t += 2) {
      const id = tokens[t]!;
      const nBytes = tokens[t + 1]!;
      out.ids.push(id);
      out.tokens.push(this.tokensById[id]!);
      out.offsets.push(
        byteStarts === undefined ? [start + byte, start + byte + nBytes] : [byteStarts[byte]!, byteEnds![byte + nBytes - 1]!],
      );
      byte += nBytes;
    }
  }

  /** Merge the lowest-ranked adjacent pair, every occurrence left to right, until no pair has a rank. */
  private bpe(mapped: string): PieceTokens {
    let symbols = Array.from(mapped);
    while (symbols.length > 1) {
      let best = Infinity;
      let bestLeft = "";
      let bestRight = "";
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(symbols[i]! + " " + symbols[i + 1]!);
        if (rank !== undefined && rank < best) {
          best = rank;
          bestLeft = symbols[i]!;
          bestRight = symbols[i + 1]!;
        }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === bestLeft && symbols[i + 1] === bestRight) {
          merged.push(bestLeft + bestRight);
          i++;
        } else merged.push(symbols[i]!);
      }
      symbols = merged;
    }
    const result: PieceTokens = [];
    for (const sym of symbols) {
      let id = this.vocab.get(sym);
      if (id === undefined) {
        if (this.unkId === undefined)
          throw new TokenizerError(`BPE symbol ${JSON.stringify(sym)} is not in the vocabulary and there is no unknown token`);
        id = this.unkId;
      }
      result.push(id, sym.length); // every byte character is one UTF-16 unit, so length = bytes
    }
    return result;
  }
}

function utf8Bytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}
