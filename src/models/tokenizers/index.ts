// Tokenizers for the supported models: BERT WordPiece and GPT-2 byte-level BPE, loaded from a
// model directory (loadTokenizer) or built from vocabulary files.
export * from "./types.js";
export {
  BaseTokenizer,
  truncateSpans,
  type AddedToken,
  type PostTemplate,
  type SpecialTokenNames,
  type TemplatePiece,
  type TokenSpan,
} from "./base.js";
export * from "./wordpiece.js";
export * from "./bpe.js";
export * from "./tokenizer-config.js";
export * from "./tokenizer-json.js";
export * from "./load.js";
