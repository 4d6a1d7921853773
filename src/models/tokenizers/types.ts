// The typed surface every tokenizer offers (WordPiece for BERT, byte-level BPE for GPT-2):
// what one encoding holds, the encode/batch/decode options, and the error we throw.

/** One encoded text (or text pair), laid out as Hugging Face's fast tokenizers lay it out. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  /** [start, end) character offsets (UTF-16 indices) into the text the token came from; [0, 0] for added special tokens and padding. */
  offsets: [number, number][];
  attentionMask: number[];
  /** 0 for the first text (and its special tokens), 1 for the second of a pair. */
  typeIds: number[];
  /** 1 where the token was added by the tokenizer (template special tokens, padding), 0 where it came from the text. */
  specialTokensMask: number[];
  /** For a pair, which text each token came from: 0, 1, or null for added tokens. */
  sequenceIds: (0 | 1 | null)[];
}

export type TruncationStrategy = "longest_first" | "only_first" | "only_second";

export interface EncodeOptions {
  /** Add the template's special tokens ([CLS] A [SEP] for BERT; none for GPT-2). Default true. */
  addSpecialTokens?: boolean;
  /** Length limit for truncation and for padding: "max_length", special tokens included. */
  maxLength?: number;
  /**
   * Right-side truncation to maxLength. true means "longest_first". When left undefined and
   * maxLength is given, truncation is "longest_first" (as Hugging Face does, minus its warning).
   */
  truncation?: boolean | TruncationStrategy;
  /** Pad on the right to maxLength. */
  padding?: false | "max_length";
  /**
   * Treat special-token strings that occur in the text ("[SEP]", "<|endoftext|>") as plain
   * text instead of as the special token. Default false, as in Hugging Face.
   */
  splitSpecialTokens?: boolean;
}

export interface BatchEncodeOptions extends Omit<EncodeOptions, "padding"> {
  /** "longest" (default) pads to the longest encoding in the batch; "max_length" to maxLength. */
  padding?: "longest" | "max_length";
}

/** A padded batch as row-major [batchSize, seqLen] Int32Arrays, ready for an embedding lookup. */
export interface BatchEncoding {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  seqLen: number;
  /** The padded per-text encodings, with tokens and offsets. */
  encodings: Encoding[];
}

export interface DecodeOptions {
  /** Leave out special tokens ([CLS], [SEP], [PAD], [UNK], [MASK], <|endoftext|>). Default false. */
  skipSpecialTokens?: boolean;
  /**
   * Undo the spaces WordPiece puts before punctuation and contractions (" ." -> ".",
   * " 's" -> "'s"). Default true for WordPiece, false for byte-level BPE, which is lossless.
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** The ids of a tokenizer's special tokens (those its vocabulary has). */
export interface SpecialTokenIds {
  readonly padId: number;
  readonly clsId?: number;
  readonly sepId?: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly unkId?: number;
  readonly maskId?: number;
}

export interface Tokenizer extends SpecialTokenIds {
  readonly kind: "wordpiece" | "bpe";
  /** Number of ids, added tokens included (30522 for bert-base-uncased, 50257 for GPT-2). */
  readonly vocabSize: number;
  /** model_max_length from tokenizer_config.json, when known; the default maxLength for truncation. */
  readonly modelMaxLength?: number;
  encode(text: string, pair?: string, opts?: EncodeOptions): Encoding;
  encodeBatch(texts: readonly string[] | readonly (readonly [string, string])[], opts?: BatchEncodeOptions): BatchEncoding;
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** Special tokens added around a text (single) or pair by encode with addSpecialTokens. */
  numSpecialTokensToAdd(pair: boolean): number;
}

export class TokenizerError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "TokenizerError";
  }
}
