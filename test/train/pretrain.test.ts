// The masked-LM can learn from context: on one fixed batch of random token sequences with fixed
// masks, the model must recognise each block from its unmasked tokens. A broken attention, head
// or tied decoder gradient leaves the loss near log(vocabulary) instead.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BertForMaskedLM } from "../../src/models/bert.js";
import { createModel } from "../../src/models/checkpoint.js";
import { parseConfig } from "../../src/models/config.js";
import { AdamW, Rng, backward, clipGradNorm, ops, tidy } from "../../src/tensor/index.js";
import { PRESETS } from "../../src/train/pretrain.js";

describe("masked-LM pre-training", () => {
  it("memorises a fixed masked batch (context is used)", () => {
    const cfg = parseConfig({ ...PRESETS["sap-bert-tiny"], hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
    const rng = new Rng(1);
    const model = createModel(cfg, "mlm", rng);
    assert.ok(model instanceof BertForMaskedLM);
    const B = 8;
    const T = 48;
    const ids = Int32Array.from({ length: B * T }, () => 1000 + rng.int(200));
    const rows: number[] = [];
    const targets: number[] = [];
    const input = ids.slice();
    // The same positions are masked in every block, so the position alone cannot tell the 8
    // targets apart (a model blind to context stays at >= log 8 = 2.08 nats).
    const masked = Array.from({ length: T }, (_, t) => t).filter(() => rng.uniform() < 0.15);
    for (let b = 0; b < B; b++)
      for (const t of masked) {
        const i = b * T + t;
        rows.push(i);
        targets.push(ids[i]!);
        input[i] = 103; // [MASK]
      }
    const batch = { batchSize: B, seqLen: T, inputIds: input, attentionMask: new Int32Array(B * T).fill(1) };
    const params = model.parameters();
    const opt = new AdamW(params, { lr: 1e-3, weightDecay: 0 });
    const losses: number[] = [];
    for (let s = 0; s < 150; s++)
      losses.push(
        tidy(() => {
          const loss = ops.crossEntropy(model.mlmLogits(batch, rows), Int32Array.from(targets));
          backward(loss);
          clipGradNorm(params, 1);
          opt.step();
          opt.zeroGrad();
          return loss.item();
        }),
      );
    assert.ok(losses[0]! > 9, `initial loss ${losses[0]}`);
    assert.ok(losses[losses.length - 1]! < 0.5, `loss after 150 steps ${losses[losses.length - 1]}`);
  });
});
