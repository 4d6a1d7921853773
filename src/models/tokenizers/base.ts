// What WordPiece and byte-level BPE share: special tokens found in the text, truncation, the
// [CLS] A [SEP] B [SEP]-style template, padding, batching and id lookup. Subclasses only turn a
// stretch of plain text into tokens, and tokens back into text.
import {
  type BatchEncodeOptions,
  type BatchEncoding,
  type DecodeOptions,
  type EncodeOptions,
  type Encoding,
  type SpecialTokenIds,
  type Tokenizer,
  TokenizerError,
  type TruncationStrategy,
} from "./types.js";

/** Tokens of one text before special tokens are added; offsets are into that text. */
export interface TokenSpan {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
}

/** One step of a post-processing template: a special token, or one of the two texts. */
export type TemplatePiece = { special: string; typeId: number } | { sequence: 0 | 1; typeId: number };

export interface PostTemplate {
  single: TemplatePiece[];
  pair: TemplatePiece[];
}

/** Tokens that are matched whole in the raw text before normalisation (Hugging Face "added tokens"). */
export interface AddedToken {
  content: string;
  id: number;
  special: boolean;
}

/** Which vocabulary strings play which special role; only those present in the vocabulary get an id. */
export interface SpecialTokenNames {
  pad?: string;
  unk?: string;
  cls?: string;
  sep?: string;
  bos?: string;
  eos?: string;
  mask?: string;
}

export interface BaseTokenizerInit {
  vocab: Map<string, number>;
  specialTokens: SpecialTokenNames;
  /** Added tokens beyond the special ones; the special ones are added (and matched in text) anyway. */
  addedTokens?: AddedToken[];
  template: PostTemplate;
  modelMaxLength?: number;
}

/** Without special tokens: the first text has type id 0, the second 1 (as Hugging Face's fast tokenizers do). */
const PLAIN_TEMPLATE: PostTemplate = {
  single: [{ sequence: 0, typeId: 0 }],
  pair: [
    { sequence: 0, typeId: 0 },
    { sequence: 1, typeId: 1 },
  ],
};

type ResolvedPiece = { id: number; token: string; typeId: number } | { sequence: 0 | 1; typeId: number };

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function emptySpan(): TokenSpan {
  return { ids: [], tokens: [], offsets: [] };
}

function truncateSpan(span: TokenSpan, length: number): void {
  if (span.ids.length <= length) return;
  span.ids.length = length;
  span.tokens.length = length;
  span.offsets.length = length;
}

/** Right-side truncation of one text or a pair to maxLength tokens, as Hugging Face's tokenizers (Rust) do it. */
export function truncateSpans(a: TokenSpan, b: TokenSpan | undefined, maxLength: number, strategy: TruncationStrategy): void {
  if (strategy === "only_second" && b === undefined) {
    throw new TokenizerError('truncation "only_second" needs a pair of texts');
  }
  const total = a.ids.length + (b?.ids.length ?? 0);
  if (total <= maxLength) return;
  if (strategy === "longest_first") {
    if (b === undefined) return truncateSpan(a, maxLength);
    // Keep the shorter text whole if it fits in half; otherwise split the budget evenly, the
    // odd token going to the second text (tokenizers' TruncationStrategy::LongestFirst).
    let n1 = a.ids.length;
    let n2 = b.ids.length;
    const swap = n1 > n2;
    if (swap) [n1, n2] = [n2, n1];
    n2 = n1 > maxLength ? n1 : Math.max(n1, maxLength - n1);
    if (n1 + n2 > maxLength) {
      n1 = Math.floor(maxLength / 2);
      n2 = n1 + (maxLength % 2);
    }
    if (swap) [n1, n2] = [n2, n1];
    truncateSpan(a, n1);
    truncateSpan(b, n2);
    return;
  }
  const target = strategy === "only_first" ? a : b!;
  const toRemove = total - maxLength;
  if (target.ids.length <= toRemove) {
    throw new TokenizerError(
      `truncation "${strategy}" cannot reach maxLength: the ${strategy === "only_first" ? "first" : "second"} text has ` +
        `${target.ids.length} tokens but ${toRemove} must go; use "longest_first"`,
    );
  }
  truncateSpan(target, target.ids.length - toRemove);
}

// The special-token ids are declared once (SpecialTokenIds) and assigned in the constructor.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface BaseTokenizer extends SpecialTokenIds {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export abstract class BaseTokenizer implements Tokenizer {
  abstract readonly kind: "wordpiece" | "bpe";
  readonly vocabSize: number;
  readonly modelMaxLength?: number;

  protected readonly vocab: Map<string, number>;
  protected readonly tokensById: (string | undefined)[];
  /** Ids of added tokens: their content is emitted verbatim when decoding. */
  protected readonly addedIds = new Set<number>();
  /** Ids that decode({ skipSpecialTokens }) leaves out. */
  protected readonly specialIds = new Set<number>();
  private readonly addedTokenPattern?: RegExp;
  private readonly template: { single: ResolvedPiece[]; pair: ResolvedPiece[] };
  private readonly plainTemplate: { single: ResolvedPiece[]; pair: ResolvedPiece[] };

  protected constructor(init: BaseTokenizerInit) {
    this.vocab = new Map(init.vocab);
    const added = new Map<string, AddedToken>();
    for (const t of init.addedTokens ?? []) added.set(t.content, t);
    const roleId = (name: string | undefined): number | undefined => {
      if (name === undefined) return undefined;
      const id = added.get(name)?.id ?? this.vocab.get(name);
      if (id !== undefined && !added.has(name)) added.set(name, { content: name, id, special: true });
      return id;
    };
    const names = init.specialTokens;
    // Looked up in this order (roleId registers each as an added token): pad last.
    const ids = {
      clsId: roleId(names.cls),
      sepId: roleId(names.sep),
      bosId: roleId(names.bos),
      eosId: roleId(names.eos),
      unkId: roleId(names.unk),
      maskId: roleId(names.mask),
      padId: roleId(names.pad),
    };
    if (ids.padId === undefined) {
      throw new TokenizerError(`no padding token: "${names.pad ?? "(none named)"}" is not in the vocabulary`);
    }
    Object.assign(this, ids);
    this.modelMaxLength = init.modelMaxLength;

    for (const t of added.values()) {
      this.vocab.set(t.content, t.id);
      this.addedIds.add(t.id);
      if (t.special) this.specialIds.add(t.id);
    }
    let size = 0;
    for (const id of this.vocab.values()) size = Math.max(size, id + 1);
    this.vocabSize = size;
    this.tokensById = new Array<string | undefined>(size);
    for (const [tok, id] of this.vocab)
      if (this.tokensById[id] === undefined || added.get(tok)?.id === id) this.tokensById[id] = tok;

    if (added.size > 0) {
      // Longest first, so that of two added tokens starting at the same place the longer wins.
      const contents = [...added.keys()].filter((c) => c.length > 0).sort((x, y) => y.length - x.length);
      if (contents.length > 0) this.addedTokenPattern = new RegExp(contents.map(escapeRegExp).join("|"), "g");
    }
    const resolve = (pieces: TemplatePiece[]): ResolvedPiece[] =>
      pieces.map((p) => {
        if ("sequence" in p) return p;
        const id = this.vocab.get(p.special);
        if (id === undefined) throw new TokenizerError(`template special token "${p.special}" is not in the vocabulary`);
        this.specialIds.add(id);
        return { id, token: p.special, typeId: p.typeId };
      });
    this.template = { single: resolve(init.template.single), pair: resolve(init.template.pair) };
    this.plainTemplate = { single: resolve(PLAIN_TEMPLATE.single), pair: resolve(PLAIN_TEMPLATE.pair) };
  }

  /** Appends the tokens of a stretch of plain text (no added tokens in it); offsets shifted by `base`. */
  protected abstract tokenizeSegment(segment: string, base: number, out: TokenSpan): void;

  /** Turns tokens back into text; `added` marks added tokens, whose content is emitted as is. */
  protected abstract decodeTokens(tokens: string[], added: boolean[], opts: DecodeOptions): string;

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.tokensById[id] : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  numSpecialTokensToAdd(pair: boolean): number {
    return (pair ? this.template.pair : this.template.single).filter((p) => !("sequence" in p)).length;
  }

  /** The tokens of one text, special tokens in it matched whole; no template, no truncation. */
  tokenize(text: string, splitSpecialTokens = false): TokenSpan {
    const out = emptySpan();
    const pattern = this.addedTokenPattern;
    if (pattern === undefined || splitSpecialTokens) {
      this.tokenizeSegment(text, 0, out);
      return out;
    }
    let last = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      if (m.index > last) this.tokenizeSegment(text.slice(last, m.index), last, out);
      out.ids.push(this.vocab.get(m[0])!);
      out.tokens.push(m[0]);
      out.offsets.push([m.index, m.index + m[0].length]);
      last = m.index + m[0].length;
    }
    if (last < text.length) this.tokenizeSegment(last === 0 ? text : text.slice(last), last, out);
    return out;
  }

  encode(text: string, pair?: string, opts: EncodeOptions = {}): Encoding {
    const a = this.tokenize(text, opts.splitSpecialTokens);
    const b = pair === undefined ? undefined : this.tokenize(pair, opts.splitSpecialTokens);
    const addSpecial = opts.addSpecialTokens ?? true;
    const truncation = this.resolveTruncation(opts);
    if (truncation !== undefined) {
      const budget = truncation.maxLength - (addSpecial ? this.numSpecialTokensToAdd(b !== undefined) : 0);
      if (budget < 0) {
        throw new TokenizerError(
          `maxLength ${truncation.maxLength} leaves no room for the ${this.numSpecialTokensToAdd(b !== undefined)} special tokens`,
        );
      }
      truncateSpans(a, b, budget, truncation.strategy);
    }
    const template = addSpecial ? this.template : this.plainTemplate;
    const enc = assemble(b === undefined ? template.single : template.pair, a, b);
    if (opts.padding === "max_length") {
      if (opts.maxLength === undefined) throw new TokenizerError('padding "max_length" needs maxLength');
      this.pad(enc, opts.maxLength);
    } else if (opts.padding !== undefined && opts.padding !== false) {
      throw new TokenizerError(`unknown padding "${String(opts.padding)}" for encode (use "max_length" or encodeBatch)`);
    }
    return enc;
  }

  encodeBatch(texts: readonly string[] | readonly (readonly [string, string])[], opts: BatchEncodeOptions = {}): BatchEncoding {
    const padding = opts.padding ?? "longest";
    if (padding !== "longest" && padding !== "max_length") throw new TokenizerError(`unknown padding "${String(padding)}"`);
    const itemOpts: EncodeOptions = { ...opts, padding: false };
    const encodings = texts.map((t) =>
      typeof t === "string" ? this.encode(t, undefined, itemOpts) : this.encode(t[0], t[1], itemOpts),
    );
    let seqLen = 0;
    if (padding === "max_length") {
      if (opts.maxLength === undefined) throw new TokenizerError('padding "max_length" needs maxLength');
      seqLen = opts.maxLength;
    }
    for (const [i, e] of encodings.entries()) {
      if (padding === "longest") seqLen = Math.max(seqLen, e.ids.length);
      else if (e.ids.length > seqLen) {
        throw new TokenizerError(`text ${i} has ${e.ids.length} tokens, more than maxLength ${seqLen}; enable truncation`);
      }
    }
    const batchSize = encodings.length;
    const inputIds = new Int32Array(batchSize * seqLen);
    const attentionMask = new Int32Array(batchSize * seqLen);
    const tokenTypeIds = new Int32Array(batchSize * seqLen);
    for (const [i, e] of encodings.entries()) {
      this.pad(e, seqLen);
      const row = i * seqLen;
      inputIds.set(e.ids, row);
      attentionMask.set(e.attentionMask, row);
      tokenTypeIds.set(e.typeIds, row);
    }
    return { inputIds, attentionMask, tokenTypeIds, batchSize, seqLen, encodings };
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const tokens: string[] = [];
    const added: boolean[] = [];
    for (const id of ids) {
      const tok = this.idToToken(id);
      if (tok === undefined) throw new TokenizerError(`cannot decode id ${id}: outside the vocabulary of ${this.vocabSize}`);
      if (opts.skipSpecialTokens && this.specialIds.has(id)) continue;
      tokens.push(tok);
      added.push(this.addedIds.has(id));
    }
    return this.decodeTokens(tokens, added, opts);
  }

  /** Pads an encoding on the right to `length` in place (no-op when it is already that long). */
  private pad(enc: Encoding, length: number): void {
    const tok = this.tokensById[this.padId]!;
    for (let i = enc.ids.length; i < length; i++) {
      enc.ids.push(this.padId);
      enc.tokens.push(tok);
      enc.offsets.push([0, 0]);
      enc.attentionMask.push(0);
      enc.typeIds.push(0);
      enc.specialTokensMask.push(1);
      enc.sequenceIds.push(null);
    }
  }

  private resolveTruncation(opts: EncodeOptions): { strategy: TruncationStrategy; maxLength: number } | undefined {
    const t = opts.truncation;
    if (opts.maxLength !== undefined && !(Number.isInteger(opts.maxLength) && opts.maxLength >= 0)) {
      throw new TokenizerError(`maxLength must be a non-negative integer, got ${opts.maxLength}`);
    }
    if (t === false) return undefined;
    if (t === undefined)
      return opts.maxLength === undefined ? undefined : { strategy: "longest_first", maxLength: opts.maxLength };
    const strategy = t === true ? "longest_first" : t;
    if (strategy !== "longest_first" && strategy !== "only_first" && strategy !== "only_second") {
      throw new TokenizerError(`unknown truncation strategy "${String(t)}"`);
    }
    const maxLength = opts.maxLength ?? this.modelMaxLength;
    if (maxLength === undefined)
      throw new TokenizerError("truncation needs maxLength (this tokenizer knows no model_max_length)");
    return { strategy, maxLength };
  }
}

/** Lays the two texts out by the template: special tokens get offsets [0, 0] and specialTokensMask 1. */
function assemble(pieces: ResolvedPiece[], a: TokenSpan, b: TokenSpan | undefined): Encoding {
  const enc: Encoding = {
    ids: [],
    tokens: [],
    offsets: [],
    attentionMask: [],
    typeIds: [],
    specialTokensMask: [],
    sequenceIds: [],
  };
  for (const p of pieces) {
    if ("sequence" in p) {
      const span = p.sequence === 0 ? a : b!;
      for (let i = 0; i < span.ids.length; i++) {
        enc.ids.push(span.ids[i]!);
        enc.tokens.push(span.tokens[i]!);
        enc.offsets.push(span.offsets[i]!);
        enc.attentionMask.push(1);
        enc.typeIds.push(p.typeId);
        enc.specialTokensMask.push(0);
        enc.sequenceIds.push(p.sequence);
      }
    } else {
      enc.ids.push(p.id);
      enc.tokens.push(p.token);
      enc.offsets.push([0, 0]);
      enc.attentionMask.push(1);
      enc.typeIds.push(p.typeId);
      enc.specialTokensMask.push(1);
      enc.sequenceIds.push(null);
    }
  }
  return enc;
}
