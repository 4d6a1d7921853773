// `sap model verify DIR`: runs a model directory on the inputs of its golden.json (PyTorch
// reference outputs and gradients) and reports the relative error of every tensor:
// max|ours - reference| / max|reference|.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor, backward, ops, tidy } from "../tensor/index.js";
import type { EncoderBatch, SplittableModel } from "./types.js";
import { BertForSequenceClassification } from "./bert.js";
import { CheckpointError, loadPretrained } from "./checkpoint.js";
import { GPT2LMHeadModel } from "./gpt2.js";
import { hiddenStates } from "./model.js";

interface GoldenTensor {
  shape: number[];
  data: number[];
}

interface Golden {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[] | null;
  hidden_states: GoldenTensor[];
  pooled_output?: GoldenTensor;
  /** Classifiers: the full logits. GPT-2: logits[b, 0, :32] for each row b. */
  logits: { shape: number[]; data: number[] | null; first_token_first_32: number[] | null };
  ln_f_output?: GoldenTensor;
  loss: number;
  grads: Record<string, GoldenTensor>;
}

export interface VerifyResult {
  model: string;
  max_rel_err: number;
  errors: Record<string, number>;
}

export function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - ref[i]!));
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  if (Number.isNaN(maxDiff)) return Number.POSITIVE_INFINITY;
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

export function goldenBatch(g: Pick<Golden, "input_ids" | "attention_mask">): EncoderBatch {
  const B = g.input_ids.length;
  const T = g.input_ids[0]!.length;
  return {
    batchSize: B,
    seqLen: T,
    inputIds: Int32Array.from(g.input_ids.flat()),
    attentionMask: Int32Array.from(g.attention_mask.flat()),
  };
}

export function verifyModelDir(dir: string): VerifyResult {
  const goldenPath = join(dir, "golden.json");
  if (!existsSync(goldenPath)) throw new CheckpointError(`${dir}: no golden.json to verify against`);
  const golden = JSON.parse(readFileSync(goldenPath, "utf8")) as Golden;
  const isLm = golden.labels === null;
  const { model } = loadPretrained(dir, { task: isLm ? "lm" : "classification" });
  model.eval();
  const batch = goldenBatch(golden);
  const errors: Record<string, number> = {};
  tidy(() => {
    const split = model as SplittableModel;
    const states = hiddenStates(split, batch);
    golden.hidden_states.forEach((h, i) => (errors[`hidden_states[${i}]`] = relErr(states[i]!.data, h.data)));
    const last = states[states.length - 1]!;
    let loss: Tensor;
    const V = golden.logits.shape[golden.logits.shape.length - 1]!;
    if (model instanceof GPT2LMHeadModel) {
      const out = model.lmLoss(batch);
      loss = out.loss;
      if (golden.ln_f_output) errors.ln_f_output = relErr(out.lnF.data, golden.ln_f_output.data);
      if (golden.logits.first_token_first_32) {
        const T = batch.seqLen;
        const firsts = Array.from({ length: batch.batchSize }, (_, b) => [...out.logits.data.subarray(b * T * V, b * T * V + 32)]).flat();
        errors["logits[:, 0, :32]"] = relErr(firsts, golden.logits.first_token_first_32);
      }
    } else {
      const logits = split.classify(last, batch);
      if (golden.pooled_output && model instanceof BertForSequenceClassification)
        errors.pooled_output = relErr(model.pool(last).data, golden.pooled_output.data);
      if (golden.logits.data) errors.logits = relErr(logits.data, golden.logits.data);
      loss = ops.crossEntropy(logits, Int32Array.from(golden.labels!));
    }
    errors.loss = Math.abs(loss.item() - golden.loss) / Math.abs(golden.loss);
    backward(loss);
    const params = new Map(model.namedParameters());
    for (const [name, g] of Object.entries(golden.grads)) {
      const p = params.get(name);
      errors[`grad:${name}`] = p?.grad ? relErr(p.grad, g.data) : Number.POSITIVE_INFINITY;
    }
  });
  const max = Math.max(...Object.values(errors));
  return { model: dir, max_rel_err: max, errors };
}
