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

function num(raw: Record<string, unknown>, keys: string[], fallback?: number): number {
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

/** Parses config.json contents; unknown model_type is an error naming the supported ones. */
export function parseConfig(raw: Record<string, unknown>): EncoderConfig {
  const type = raw.model_type;
  if (typeof type !== "string") throw new ConfigError("config.json has no model_type");
  if (!SUPPORTED_MODEL_TYPES.includes(type as ModelType))
    throw new ConfigError(`model_type "${type}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(", ")}`);
  const labels = labelsOf(raw);
  const common = { modelType: type as ModelType, labels, numLabels: labels.length, raw };
  switch (type as ModelType) {
    case "bert":
    case "roberta": {
      const hidden = num(raw, ["hidden_size"]);
      const hiddenDropout = num(raw, ["hidden_dropout_prob"], 0.1);
      return {
        ...common,
        vocabSize: num(raw, ["vocab_size"]),
        hiddenSize: hidden,
        numLayers: num(raw, ["num_hidden_layers"]),
        numHeads: num(raw, ["num_attention_heads"]),
        intermediateSize: num(raw, ["intermediate_size"], 4 * hidden),
        hiddenAct: act(raw, ["hidden_act"], "gelu"),
        maxPositions: num(raw, ["max_position_embeddings"], 512),
        typeVocabSize: num(raw, ["type_vocab_size"], 2),
        layerNormEps: num(raw, ["layer_norm_eps"], 1e-12),
        hiddenDropout,
        attentionDropout: num(raw, ["attention_probs_dropout_prob"], 0.1),
        padTokenId: num(raw, ["pad_token_id"], type === "roberta" ? 1 : 0),
        initializerRange: num(raw, ["initializer_range"], 0.02),
        classifierDropout: num(raw, ["classifier_dropout"], hiddenDropout),
      };
    }
    case "distilbert": {
      const dim = num(raw, ["dim"]);
      if (raw.sinusoidal_pos_embds === true) throw new ConfigError("DistilBERT with sinusoidal_pos_embds is not supported");
      return {
        ...common,
        vocabSize: num(raw, ["vocab_size"]),
        hiddenSize: dim,
        numLayers: num(raw, ["n_layers"]),
        numHeads: num(raw, ["n_heads"]),
        intermediateSize: num(raw, ["hidden_dim"], 4 * dim),
        hiddenAct: act(raw, ["activation"], "gelu"),
        maxPositions: num(raw, ["max_position_embeddings"], 512),
        typeVocabSize: 0,
        layerNormEps: 1e-12,
        hiddenDropout: num(raw, ["dropout"], 0.1),
        attentionDropout: num(raw, ["attention_dropout"], 0.1),
        padTokenId: num(raw, ["pad_token_id"], 0),
        initializerRange: num(raw, ["initializer_range"], 0.02),
        classifierDropout: num(raw, ["seq_classif_dropout"], 0.2),
      };
    }
    case "gpt2": {
      const dim = num(raw, ["n_embd"]);
      return {
        ...common,
        vocabSize: num(raw, ["vocab_size"]),
        hiddenSize: dim,
        numLayers: num(raw, ["n_layer"]),
        numHeads: num(raw, ["n_head"]),
        intermediateSize: num(raw, ["n_inner"], 4 * dim),
        hiddenAct: act(raw, ["activation_function"], "gelu_new"),
        maxPositions: num(raw, ["n_positions"], 1024),
        typeVocabSize: 0,
        layerNormEps: num(raw, ["layer_norm_epsilon"], 1e-5),
        hiddenDropout: num(raw, ["resid_pdrop"], 0.1),
        attentionDropout: num(raw, ["attn_pdrop"], 0.1),
        padTokenId: num(raw, ["pad_token_id", "eos_token_id"], 50256),
        initializerRange: num(raw, ["initializer_range"], 0.02),
        classifierDropout: num(raw, ["summary_first_dropout"], 0.1),
      };
    }
  }
}
