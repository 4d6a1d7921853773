// BERT's tokenizer: the BERT normaliser (clean text, space out CJK characters, strip accents,
// lower-case), splitting on whitespace and punctuation, then WordPiece greedy longest match.
// It follows Hugging Face's fast (Rust) BertNormalizer/BertPreTokenizer/WordPiece, offsets included.
import { readFileSync } from "node:fs";
import { BaseTokenizer, type AddedToken, type PostTemplate, type SpecialTokenNames, type TokenSpan } from "./base.js";
import { type DecodeOptions, TokenizerError } from "./types.js";

export interface BertNormalizerOptions {
  /** Drop control characters, NUL and U+FFFD; turn every whitespace character into a space. */
  cleanText: boolean;
  /** Make every CJK ideograph a word of its own. */
  handleChineseChars: boolean;
  /** Decompose (NFD) and drop nonspacing marks: "é" -> "e". */
  stripAccents: boolean;
  lowercase: boolean;
}

export interface WordPieceOptions {
  unkToken: string;
  /** Marks a piece that continues a word: "playing" -> "play", "##ing". */
  continuingSubwordPrefix: string;
  /** Longer words (in code points) become a single unknown token. */
  maxInputCharsPerWord: number;
}

export interface WordPieceTokenizerInit extends Partial<BertNormalizerOptions>, Partial<WordPieceOptions> {
  vocab: Map<string, number>;
  /** Defaults to [PAD] [UNK] [CLS] [SEP] [MASK]. */
  specialTokens?: SpecialTokenNames;
  addedTokens?: AddedToken[];
  /** Defaults to [CLS] A [SEP] and [CLS] A [SEP] B [SEP] with type ids 0 then 1. */
  template?: PostTemplate;
  modelMaxLength?: number;
  /** Default for decode's cleanUpTokenizationSpaces. */
  cleanUpTokenizationSpaces?: boolean;
}

export const BERT_SPECIAL_TOKENS: Required<Pick<SpecialTokenNames, "pad" | "unk" | "cls" | "sep" | "mask">> = {
  pad: "[PAD]",
  unk: "[UNK]",
  cls: "[CLS]",
  sep: "[SEP]",
  mask: "[MASK]",
};

export function bertTemplate(cls: string, sep: string): PostTemplate {
  return {
    single: [
      { special: cls, typeId: 0 },
      { sequence: 0, typeId: 0 },
      { special: sep, typeId: 0 },
    ],
    pair: [
      { special: cls, typeId: 0 },
      { sequence: 0, typeId: 0 },
      { special: sep, typeId: 0 },
      { sequence: 1, typeId: 1 },
      { special: sep, typeId: 1 },
    ],
  };
}

/** vocab.txt: one token per line, the id is the line number (a repeated token keeps its last line, as in Hugging Face). */
export function parseVocabTxt(text: string): Map<string, number> {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((line, id) => vocab.set(line.endsWith("\r") ? line.slice(0, -1) : line, id));
  return vocab;
}

// How one input character comes out of the normaliser, and how the pre-tokenizer treats each
// resulting character. null: removed outright; []: stripped (a combining mark), its span joins the
// previous character's.
const SPACE = 0;
const ISOLATED = 1; // punctuation or CJK: a word of its own
const WORD = 2;
type CharPlan = { text: string; cls: number }[] | null;

const WHITESPACE_RE = /^\p{White_Space}$/u;
const OTHER_RE = /^\p{C}$/u; // Cc Cf Cs Co Cn: what the Rust BertNormalizer calls control
const PUNCT_RE = /^\p{P}$/u;
const NONSPACING_MARK_RE = /\p{Mn}/gu;

const isWhitespace = (c: string): boolean => c === "\t" || c === "\n" || c === "\r" || WHITESPACE_RE.test(c);
const isControl = (c: string): boolean => c !== "\t" && c !== "\n" && c !== "\r" && OTHER_RE.test(c);
/** BERT's punctuation: all ASCII non-alphanumeric printables (so "$", "^", "`" too) and Unicode P*. */
function isPunctuation(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return PUNCT_RE.test(c);
}

/** The CJK Unified Ideographs blocks (not Hangul or kana, which are written with spaces). */
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const CACHE_LIMIT = 100_000;

export class WordPieceTokenizer extends BaseTokenizer {
  readonly kind = "wordpiece" as const;
  readonly normalizer: Readonly<BertNormalizerOptions>;
  readonly wordPiece: Readonly<WordPieceOptions>;
  private readonly cleanUpDefault: boolean;
  private readonly asciiPlans: CharPlan[] = [];
  private readonly planCache = new Map<number, CharPlan>();
  /** word -> [id, first code point, end code point, ...] */
  private readonly wordCache = new Map<string, number[]>();
  // Scratch for the word being collected: its normalised text, and per normalised code point the
  // span in the input it came from, and where it ends in `word` (UTF-16 units).
  private word = "";
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly unitEnds: number[] = [0];

  constructor(init: WordPieceTokenizerInit) {
    const names = init.specialTokens ?? { ...BERT_SPECIAL_TOKENS, ...(init.unkToken ? { unk: init.unkToken } : {}) };
    super({
      vocab: init.vocab,
      specialTokens: names,
      addedTokens: init.addedTokens,
      template: init.template ?? bertTemplate(names.cls ?? "[CLS]", names.sep ?? "[SEP]"),
      modelMaxLength: init.modelMaxLength,
    });
    const lowercase = init.lowercase ?? true;
    this.normalizer = {
      cleanText: init.cleanText ?? true,
      handleChineseChars: init.handleChineseChars ?? true,
      // Hugging Face: strip_accents unset means "strip when lower-casing".
      stripAccents: init.stripAccents ?? lowercase,
      lowercase,
    };
    this.wordPiece = {
      unkToken: init.unkToken ?? names.unk ?? "[UNK]",
      continuingSubwordPrefix: init.continuingSubwordPrefix ?? "##",
      maxInputCharsPerWord: init.maxInputCharsPerWord ?? 100,
    };
    if (this.vocab.get(this.wordPiece.unkToken) === undefined) {
      throw new TokenizerError(`WordPiece unknown token "${this.wordPiece.unkToken}" is not in the vocabulary`);
    }
    this.cleanUpDefault = init.cleanUpTokenizationSpaces ?? true;
    for (let cp = 0; cp < 128; cp++) this.asciiPlans.push(this.planChar(cp));
  }

  /** From the text of a vocab.txt. */
  static fromVocabText(text: string, opts: Omit<WordPieceTokenizerInit, "vocab"> = {}): WordPieceTokenizer {
    return new WordPieceTokenizer({ ...opts, vocab: parseVocabTxt(text) });
  }

  static fromVocabFile(path: string, opts: Omit<WordPieceTokenizerInit, "vocab"> = {}): WordPieceTokenizer {
    return WordPieceTokenizer.fromVocabText(readFileSync(path, "utf8"), opts);
  }

  protected tokenizeSegment(segment: string, base: number, out: TokenSpan): void {
    const n = segment.length;
    for (let i = 0; i < n;) {
      let cp = segment.charCodeAt(i);
      let len = 1;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
        const lo = segment.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
          len = 2;
        }
      }
      const start = base + i;
      i += len;
      const end = base + i;
      const plan = cp < 128 ? this.asciiPlans[cp]! : this.planFor(cp);
      if (plan === null) continue;
      if (plan.length === 0) {
        if (this.ends.length > 0) this.ends[this.ends.length - 1] = end;
        continue;
      }
      for (const { text, cls } of plan) {
        if (cls === WORD) {
          this.word += text;
          this.starts.push(start);
          this.ends.push(end);
          this.unitEnds.push(this.word.length);
        } else {
          this.flushWord(out);
          if (cls === ISOLATED) {
            this.word = text;
            this.starts.push(start);
            this.ends.push(end);
            this.unitEnds.push(text.length);
            this.flushWord(out);
          }
        }
      }
    }
    this.flushWord(out);
  }

  protected decodeTokens(tokens: string[], added: boolean[], opts: DecodeOptions): string {
    const prefix = this.wordPiece.continuingSubwordPrefix;
    let text = "";
    tokens.forEach((tok, i) => {
      if (i === 0) text = tok;
      else if (!added[i] && tok.startsWith(prefix)) text += tok.slice(prefix.length);
      else text += " " + tok;
    });
    return (opts.cleanUpTokenizationSpaces ?? this.cleanUpDefault) ? cleanUpTokenizationSpaces(text) : text;
  }

  private planFor(cp: number): CharPlan {
    let plan = this.planCache.get(cp);
    if (plan === undefined) {
      plan = this.planChar(cp);
      if (this.planCache.size < CACHE_LIMIT) this.planCache.set(cp, plan);
    }
    return plan;
  }

  private planChar(cp: number): CharPlan {
    const c = String.fromCodePoint(cp);
    const { cleanText, handleChineseChars, stripAccents, lowercase } = this.normalizer;
    if (cleanText && (cp === 0 || cp === 0xfffd || isControl(c))) return null;
    if (isWhitespace(c)) return [{ text: " ", cls: SPACE }];
    if (handleChineseChars && isChineseChar(cp)) return [{ text: c, cls: ISOLATED }];
    let norm = c;
    if (stripAccents) norm = norm.normalize("NFD").replace(NONSPACING_MARK_RE, "");
    if (lowercase) norm = norm.toLowerCase();
    return Array.from(norm, (ch) => ({ text: ch, cls: isWhitespace(ch) ? SPACE : isPunctuation(ch) ? ISOLATED : WORD }));
  }

  /** WordPiece on the collected word, appended to `out`; then the scratch is emptied. */
  private flushWord(out: TokenSpan): void {
    const nChars = this.starts.length;
    if (nChars === 0) return;
    let pieces = this.wordCache.get(this.word);
    if (pieces === undefined) {
      pieces = this.splitWord(this.word, nChars);
      if (this.wordCache.size < CACHE_LIMIT) this.wordCache.set(this.word, pieces);
    }
    for (let p = 0; p < pieces.length; p += 3) {
      const id = pieces[p]!;
      out.ids.push(id);
      out.tokens.push(this.tokensById[id]!);
      out.offsets.push([this.starts[pieces[p + 1]!]!, this.ends[pieces[p + 2]! - 1]!]);
    }
    this.word = "";
    this.starts.length = 0;
    this.ends.length = 0;
    this.unitEnds.length = 1;
  }

  /** Greedy longest match from the left; a word with any unmatched rest is a single unknown token. */
  private splitWord(word: string, nChars: number): number[] {
    const unkId = this.vocab.get(this.wordPiece.unkToken)!;
    if (nChars > this.wordPiece.maxInputCharsPerWord) return [unkId, 0, nChars];
    const prefix = this.wordPiece.continuingSubwordPrefix;
    const units = this.unitEnds;
    const pieces: number[] = [];
    for (let start = 0; start < nChars;) {
      let end = nChars;
      let id: number | undefined;
      for (; end > start; end--) {
        const sub = word.slice(units[start], units[end]);
        id = this.vocab.get(start > 0 ? prefix + sub : sub);
        if (id !== undefined) break;
      }
      if (id === undefined) return [unkId, 0, nChars];
      pieces.push(id, start, end);
      start = end;
    }
    return pieces;
  }
}

/** transformers' clean_up_tokenization: no space before punctuation and English contractions. */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
