// Hugging Face tokenizer.json -> our WordPiece or byte-level BPE tokenizer. Only the pipelines
// BERT and GPT-2 use are accepted; anything else is refused by name rather than run differently.
import type { AddedToken, PostTemplate, SpecialTokenNames, TemplatePiece } from "./base.js";
import { ByteLevelBpeTokenizer } from "./bpe.js";
import type { TokenizerConfig } from "./tokenizer-config.js";
import { TokenizerError, type Tokenizer } from "./types.js";
import { BERT_SPECIAL_TOKENS, WordPieceTokenizer } from "./wordpiece.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

function component(json: Json, key: string): Json | null {
  const v = json[key];
  if (v === null || v === undefined) return null;
  if (!isObject(v)) throw new TokenizerError(`tokenizer.json: "${key}" is not an object`);
  return v;
}

function unsupported(key: string, v: Json): never {
  throw new TokenizerError(
    `tokenizer.json: ${key} of type "${String(v["type"])}" is not supported (only BERT WordPiece and GPT-2 byte-level BPE are)`,
  );
}

function vocabOf(model: Json): Map<string, number> {
  if (!isObject(model["vocab"])) throw new TokenizerError("tokenizer.json: model.vocab is not an object of token -> id");
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(model["vocab"])) {
    if (!Number.isInteger(id)) throw new TokenizerError(`tokenizer.json: id of ${JSON.stringify(tok)} is not an integer`);
    vocab.set(tok, id as number);
  }
  return vocab;
}

function addedTokensOf(json: Json): AddedToken[] {
  const list = json["added_tokens"] ?? [];
  if (!Array.isArray(list)) throw new TokenizerError("tokenizer.json: added_tokens is not a list");
  return list.map((t: unknown) => {
    if (!isObject(t) || typeof t["content"] !== "string" || !Number.isInteger(t["id"])) {
      throw new TokenizerError(`tokenizer.json: bad added token ${JSON.stringify(t)}`);
    }
    return { content: t["content"], id: t["id"] as number, special: t["special"] === true };
  });
}

/** TemplateProcessing / BertProcessing -> our template; null for none (or GPT-2's ByteLevel, which adds nothing). */
function templateOf(post: Json | null): PostTemplate | undefined {
  if (post === null || post["type"] === "ByteLevel") return undefined;
  if (post["type"] === "BertProcessing") {
    const cls = post["cls"] as [string, number];
    const sep = post["sep"] as [string, number];
    return {
      single: [
        { special: cls[0], typeId: 0 },
        { sequence: 0, typeId: 0 },
        { special: sep[0], typeId: 0 },
      ],
      pair: [
        { special: cls[0], typeId: 0 },
        { sequence: 0, typeId: 0 },
        { special: sep[0], typeId: 0 },
        { sequence: 1, typeId: 1 },
        { special: sep[0], typeId: 1 },
      ],
    };
  }
  if (post["type"] !== "TemplateProcessing") unsupported("post_processor", post);
  const specials = isObject(post["special_tokens"]) ? post["special_tokens"] : {};
  const pieces = (list: unknown): TemplatePiece[] => {
    if (!Array.isArray(list)) throw new TokenizerError("tokenizer.json: TemplateProcessing template is not a list");
    return list.map((p: unknown): TemplatePiece => {
      if (isObject(p) && isObject(p["Sequence"])) {
        const s = p["Sequence"];
        return { sequence: s["id"] === "B" ? 1 : 0, typeId: Number(s["type_id"] ?? 0) };
      }
      if (isObject(p) && isObject(p["SpecialToken"])) {
        const s = p["SpecialToken"];
        const entry = specials[String(s["id"])];
        const tokens = isObject(entry) && Array.isArray(entry["tokens"]) ? (entry["tokens"] as string[]) : [String(s["id"])];
        if (tokens.length !== 1)
          throw new TokenizerError(`tokenizer.json: special token "${String(s["id"])}" spans ${tokens.length} tokens`);
        return { special: tokens[0]!, typeId: Number(s["type_id"] ?? 0) };
      }
      throw new TokenizerError(`tokenizer.json: bad template piece ${JSON.stringify(p)}`);
    });
  };
  return { single: pieces(post["single"]), pair: pieces(post["pair"]) };
}

/**
 * Builds the tokenizer a tokenizer.json describes. `config` (tokenizer_config.json) names the special
 * tokens and, as transformers' BertTokenizerFast does, overrides lower-casing when it sets do_lower_case.
 */
export function tokenizerFromJson(raw: unknown, config?: TokenizerConfig): Tokenizer {
  if (!isObject(raw)) throw new TokenizerError("tokenizer.json is not a JSON object");
  const model = component(raw, "model");
  if (model === null) throw new TokenizerError('tokenizer.json has no "model"');
  // Older files leave out model.type; BPE is the one with merges.
  const modelType = model["type"] ?? (Array.isArray(model["merges"]) ? "BPE" : "WordPiece");
  const normalizer = component(raw, "normalizer");
  const preTokenizer = component(raw, "pre_tokenizer");
  const addedTokens = addedTokensOf(raw);
  const template = templateOf(component(raw, "post_processor"));
  const names: SpecialTokenNames = { ...config?.specialTokens };

  if (modelType === "WordPiece") {
    if (normalizer !== null && normalizer["type"] !== "BertNormalizer") unsupported("normalizer", normalizer);
    if (preTokenizer === null || preTokenizer["type"] !== "BertPreTokenizer")
      unsupported("pre_tokenizer", preTokenizer ?? { type: null });
    const unk = typeof model["unk_token"] === "string" ? model["unk_token"] : BERT_SPECIAL_TOKENS.unk;
    const lowercase = config?.doLowerCase ?? (normalizer?.["lowercase"] as boolean | undefined) ?? false;
    const strip = config?.stripAccents !== undefined ? config.stripAccents : normalizer?.["strip_accents"];
    const decoder = component(raw, "decoder");
    return new WordPieceTokenizer({
      vocab: vocabOf(model),
      specialTokens: { ...BERT_SPECIAL_TOKENS, unk, ...names },
      addedTokens,
      template,
      modelMaxLength: config?.modelMaxLength,
      cleanText: normalizer === null ? false : normalizer["clean_text"] !== false,
      handleChineseChars:
        config?.tokenizeChineseChars ?? (normalizer === null ? false : normalizer["handle_chinese_chars"] !== false),
      stripAccents:
        normalizer === null && config?.stripAccents === undefined ? false : typeof strip === "boolean" ? strip : undefined,
      lowercase,
      unkToken: unk,
      continuingSubwordPrefix: typeof model["continuing_subword_prefix"] === "string" ? model["continuing_subword_prefix"] : "##",
      maxInputCharsPerWord: typeof model["max_input_chars_per_word"] === "number" ? model["max_input_chars_per_word"] : 100,
      cleanUpTokenizationSpaces: config?.cleanUpTokenizationSpaces ?? (decoder?.["cleanup"] as boolean | undefined),
    });
  }

  if (modelType === "BPE") {
    if (normalizer !== null) unsupported("normalizer", normalizer);
    if (preTokenizer === null || preTokenizer["type"] !== "ByteLevel" || preTokenizer["use_regex"] === false) {
      unsupported("pre_tokenizer", preTokenizer ?? { type: null });
    }
    for (const key of ["continuing_subword_prefix", "end_of_word_suffix"]) {
      if (model[key] !== null && model[key] !== undefined && model[key] !== "") {
        throw new TokenizerError(`tokenizer.json: BPE ${key} ${JSON.stringify(model[key])} is not supported`);
      }
    }
    if (model["byte_fallback"] === true || (model["dropout"] !== null && model["dropout"] !== undefined)) {
      throw new TokenizerError("tokenizer.json: BPE byte_fallback and dropout are not supported");
    }
    if (!Array.isArray(model["merges"])) throw new TokenizerError("tokenizer.json: model.merges is not a list");
    // Merges are "left right" strings, or [left, right] pairs in files since tokenizers 0.20.
    const merges = model["merges"].map((m: unknown): [string, string] => {
      const pair = typeof m === "string" ? m.split(" ") : m;
      if (!Array.isArray(pair) || pair.length !== 2) throw new TokenizerError(`tokenizer.json: bad merge ${JSON.stringify(m)}`);
      return [String(pair[0]), String(pair[1])];
    });
    const vocab = vocabOf(model);
    const eot = "<|endoftext|>";
    const fallback = vocab.has(eot) || addedTokens.some((t) => t.content === eot) ? eot : undefined;
    const unk = typeof model["unk_token"] === "string" ? model["unk_token"] : undefined;
    const eos = names.eos ?? fallback;
    return new ByteLevelBpeTokenizer({
      vocab,
      merges,
      specialTokens: { bos: fallback, eos, unk: unk ?? fallback, ...names, pad: names.pad ?? eos },
      addedTokens,
      template,
      addPrefixSpace: config?.addPrefixSpace ?? preTokenizer["add_prefix_space"] === true,
      modelMaxLength: config?.modelMaxLength,
    });
  }
  throw new TokenizerError(`tokenizer.json: model type "${String(modelType)}" is not supported (only WordPiece and BPE are)`);
}
