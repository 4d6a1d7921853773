// Hugging Face config.json -> our typed configs. Each architecture names its fields its own way
// (BERT: hidden_size, DistilBERT: dim, GPT-2: n_embd); the rest of the code sees one shape.
import type { Activation, EncoderConfig, ModelType } from "./types.js";

export type { EncoderConfig, ModelType } from "./types.js";
export const SUPPORTED_MODEL_TYPES: readonly ModelType[] = ["bert", "roberta", "distilbert", "gpt2"];

export class ConfigError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "ConfigError";
  }
}

function num(raw: Record<string, unknown>, keys: readonly string[], fallback?: number): number {
  for (const k of keys) {
    const v = raw[k];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`config.json lacks ${keys.join(" / ")}`);
}

function labelsOf(raw: Record<string, unknown>): string[] {
  const id2label = raw.id2label as Record<string, string> | undefined;
  if (id2label && typeof id2label === "object") {
    const n = Object.keys(id2label).length;
    return Array.from({ length: n }, (_, i) => String(id2label[String(i)] ?? `LABEL_${i}`));
  }
  const n = num(raw, ["num_labels"], 2);
  return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}

function act(raw: Record<string, unknown>, keys: string[], fallback: string): Activation {
  let v = fallback;
  for (const k of keys) if (typeof raw[k] === "string") v = raw[k] as string;
  if (v === "gelu" || v === "gelu_new" || v === "relu") return v;
  if (v === "gelu_pytorch_tanh") return "gelu_new";
  throw new ConfigError(`activation "${v}" is not supported (gelu, gelu_new, relu)`);
}

/** A numeric field: its config.json keys (first present wins) and the default, or a fixed value the architecture has no key for. */
type NumberField = readonly [keys: readonly string[], fallback: number] | number;

function read(raw: Record<string, unknown>, field: NumberField): number {
  return typeof field === "number" ? field : num(raw, field[0], field[1]);
}

/** Where each architecture keeps each field (BERT: hidden_size, DistilBERT: dim, GPT-2: n_embd). */
interface ConfigKeys {
  hiddenSize: string;
  numLayers: string;
  numHeads: string;
  /** Defaults to 4 * hidden size everywhere. */
  intermediateSize: string;
  hiddenAct: readonly [key: string, fallback: string];
  maxPositions: NumberField;
  typeVocabSize: NumberField;
  layerNormEps: NumberField;
  /** Both dropouts default to 0.1 everywhere. */
  hiddenDropout: string;
  attentionDropout: string;
  padTokenId: NumberField;
  /** No fallback: the hidden dropout (BERT, RoBERTa). */
  classifierDropout: readonly [key: string, fallback?: number];
}

/** One row per field, one column per architecture (RoBERTa reads BERT's keys; only its pad id differs). */
type ByArchitecture<T> = Record<"bert" | "distilbert" | "gpt2", T> & { roberta?: T };

const KEY_TABLE: { [F in keyof ConfigKeys]: ByArchitecture<ConfigKeys[F]> } = {
  hiddenSize: { bert: "hidden_size", distilbert: "dim", gpt2: "n_embd" },
  numLayers: { bert: "num_hidden_layers", distilbert: "n_layers", gpt2: "n_layer" },
  numHeads: { bert: "num_attention_heads", distilbert: "n_heads", gpt2: "n_head" },
  intermediateSize: { bert: "intermediate_size", distilbert: "hidden_dim", gpt2: "n_inner" },
  hiddenAct: { bert: ["hidden_act", "gelu"], distilbert: ["activation", "gelu"], gpt2: ["activation_function", "gelu_new"] },
  maxPositions: { bert: [["max_position_embeddings"], 512], distilbert: [["max_position_embeddings"], 512], gpt2: [["n_positions"], 1024] },
  typeVocabSize: { bert: [["type_vocab_size"], 2], distilbert: 0, gpt2: 0 },
  layerNormEps: { bert: [["layer_norm_eps"], 1e-12], distilbert: 1e-12, gpt2: [["layer_norm_epsilon"], 1e-5] },
  hiddenDropout: { bert: "hidden_dropout_prob", distilbert: "dropout", gpt2: "resid_pdrop" },
  attentionDropout: { bert: "attention_probs_dropout_prob", distilbert: "attention_dropout", gpt2: "attn_pdrop" },
  // GPT-2 has no pad token; the end-of-text token serves.
  padTokenId: { bert: [["pad_token_id"], 0], roberta: [["pad_token_id"], 1], distilbert: [["pad_token_id"], 0], gpt2: [["pad_token_id", "eos_token_id"], 50256] },
  classifierDropout: { bert: ["classifier_dropout"], distilbert: ["seq_classif_dropout", 0.2], gpt2: ["summary_first_dropout", 0.1] },
};

function keysFor(type: ModelType): ConfigKeys {
  const column = (row: ByArchitecture<unknown>): unknown => (type === "roberta" ? (row.roberta ?? row.bert) : row[type]);
  return Object.fromEntries(Object.entries(KEY_TABLE).map(([f, row]) => [f, column(row)])) as unknown as ConfigKeys;
}

/** Parses config.json contents; unknown model_type is an error naming the supported ones. */
export function parseConfig(raw: Record<string, unknown>): EncoderConfig {
  const type = raw.model_type;
  if (typeof type !== "string") throw new ConfigError("config.json has no model_type");
  if (!SUPPORTED_MODEL_TYPES.includes(type as ModelType))
    throw new ConfigError(`model_type "${type}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(", ")}`);
  if (type === "distilbert" && raw.sinusoidal_pos_embds === true) throw new ConfigError("DistilBERT with sinusoidal_pos_embds is not supported");
  const keys = keysFor(type as ModelType);
  const labels = labelsOf(raw);
  const hiddenSize = num(raw, [keys.hiddenSize]);
  const hiddenDropout = num(raw, [keys.hiddenDropout], 0.1);
  return {
    modelType: type as ModelType,
    labels,
    numLabels: labels.length,
    raw,
    vocabSize: num(raw, ["vocab_size"]),
    hiddenSize,
    numLayers: num(raw, [keys.numLayers]),
    numHeads: num(raw, [keys.numHeads]),
    intermediateSize: num(raw, [keys.intermediateSize], 4 * hiddenSize),
    hiddenAct: act(raw, [keys.hiddenAct[0]], keys.hiddenAct[1]),
    maxPositions: read(raw, keys.maxPositions),
    typeVocabSize: read(raw, keys.typeVocabSize),
    layerNormEps: read(raw, keys.layerNormEps),
    hiddenDropout,
    attentionDropout: num(raw, [keys.attentionDropout], 0.1),
    padTokenId: read(raw, keys.padTokenId),
    initializerRange: num(raw, ["initializer_range"], 0.02),
    classifierDropout: num(raw, [keys.classifierDropout[0]], keys.classifierDropout[1] ?? hiddenDropout),
  };
}
