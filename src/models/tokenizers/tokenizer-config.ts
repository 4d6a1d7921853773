// tokenizer_config.json (and special_tokens_map.json): the settings a model directory gives its
// tokenizer beside the vocabulary: lower-casing, special token names, model_max_length.
import type { SpecialTokenNames } from "./base.js";
import { TokenizerError } from "./types.js";

export interface TokenizerConfig {
  doLowerCase?: boolean;
  /** null: strip accents exactly when lower-casing. */
  stripAccents?: boolean | null;
  tokenizeChineseChars?: boolean;
  modelMaxLength?: number;
  cleanUpTokenizationSpaces?: boolean;
  addPrefixSpace?: boolean;
  specialTokens: SpecialTokenNames;
}

/** Hugging Face writes a token either as a string or as {"content": ..., "__type": "AddedToken"}. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") {
    return (v as { content: string }).content;
  }
  return undefined;
}

/** Reads the fields we use; `specialTokensMap` (special_tokens_map.json) fills in names the config lacks. */
export function parseTokenizerConfig(raw: unknown, specialTokensMap?: unknown): TokenizerConfig {
  const obj = (v: unknown, what: string): Record<string, unknown> => {
    if (v === undefined) return {};
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new TokenizerError(`${what} is not a JSON object`);
    return v as Record<string, unknown>;
  };
  const cfg = obj(raw, "tokenizer_config.json");
  const map = obj(specialTokensMap, "special_tokens_map.json");
  const bool = (k: string): boolean | undefined => (typeof cfg[k] === "boolean" ? (cfg[k] as boolean) : undefined);
  const specialTokens: SpecialTokenNames = {};
  for (const role of ["pad", "unk", "cls", "sep", "bos", "eos", "mask"] as const) {
    const name = tokenName(cfg[`${role}_token`]) ?? tokenName(map[`${role}_token`]);
    if (name !== undefined) specialTokens[role] = name;
  }
  const maxLen = cfg["model_max_length"];
  return {
    doLowerCase: bool("do_lower_case"),
    stripAccents: cfg["strip_accents"] === null ? null : bool("strip_accents"),
    tokenizeChineseChars: bool("tokenize_chinese_chars"),
    // transformers writes a huge sentinel (1e30) when the model sets no limit.
    modelMaxLength: typeof maxLen === "number" && Number.isInteger(maxLen) && maxLen > 0 && maxLen < 1e9 ? maxLen : undefined,
    cleanUpTokenizationSpaces: bool("clean_up_tokenization_spaces"),
    addPrefixSpace: bool("add_prefix_space"),
    specialTokens,
  };
}
