// loadTokenizer(dir): finds the tokenizer in a model directory laid out as Hugging Face lays it
// out: tokenizer.json, else vocab.txt (WordPiece), else vocab.json + merges.txt (byte-level BPE).
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ByteLevelBpeTokenizer } from "./bpe.js";
import { parseTokenizerConfig, type TokenizerConfig } from "./tokenizer-config.js";
import { tokenizerFromJson } from "./tokenizer-json.js";
import { TokenizerError, type Tokenizer } from "./types.js";
import { BERT_SPECIAL_TOKENS, WordPieceTokenizer } from "./wordpiece.js";

const LOOKED_FOR = "tokenizer.json, vocab.txt, or vocab.json + merges.txt (encoder.json + vocab.bpe)";

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new TokenizerError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

function readConfig(dir: string): TokenizerConfig {
  const configPath = join(dir, "tokenizer_config.json");
  const mapPath = join(dir, "special_tokens_map.json");
  return parseTokenizerConfig(
    existsSync(configPath) ? readJson(configPath) : undefined,
    existsSync(mapPath) ? readJson(mapPath) : undefined,
  );
}

export function loadTokenizer(dir: string): Tokenizer {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TokenizerError(`no tokenizer: ${dir} is not a directory (looked for ${LOOKED_FOR})`);
  }
  const has = (name: string): boolean => existsSync(join(dir, name));
  const config = readConfig(dir);

  if (has("tokenizer.json")) return tokenizerFromJson(readJson(join(dir, "tokenizer.json")), config);

  if (has("vocab.txt")) {
    const lowercase = config.doLowerCase ?? true;
    return WordPieceTokenizer.fromVocabFile(join(dir, "vocab.txt"), {
      specialTokens: { ...BERT_SPECIAL_TOKENS, ...config.specialTokens },
      lowercase,
      stripAccents: config.stripAccents ?? undefined,
      handleChineseChars: config.tokenizeChineseChars,
      modelMaxLength: config.modelMaxLength,
      cleanUpTokenizationSpaces: config.cleanUpTokenizationSpaces,
    });
  }

  for (const [vocabName, mergesName] of [
    ["vocab.json", "merges.txt"],
    ["encoder.json", "vocab.bpe"],
  ] as const) {
    if (!has(vocabName)) continue;
    if (!has(mergesName)) throw new TokenizerError(`no tokenizer in ${dir}: ${vocabName} is there but ${mergesName} is missing`);
    const names = config.specialTokens;
    const eot = "<|endoftext|>";
    const eos = names.eos ?? eot;
    return ByteLevelBpeTokenizer.fromFiles(join(dir, vocabName), join(dir, mergesName), {
      // GPT-2 has no padding token; its end-of-text token serves (as is usual when fine-tuning).
      specialTokens: { bos: eot, unk: eot, ...names, eos, pad: names.pad ?? eos },
      addPrefixSpace: config.addPrefixSpace,
      modelMaxLength: config.modelMaxLength,
    });
  }
  throw new TokenizerError(`no tokenizer in ${dir}: looked for ${LOOKED_FOR}`);
}
