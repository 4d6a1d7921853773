// Memory is released deterministically: a training loop inside tidy() reuses its buffers, so
// RSS after 1,000 steps stays within 5% of RSS after the first 50.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { BertForSequenceClassification } from "../../src/models/bert.js";
import { parseConfig } from "../../src/models/config.js";
import { classifyBatch } from "../../src/models/model.js";
import { AdamW, Rng, backward, clipGradNorm, memoryStats, ops, tidy } from "../../src/tensor/index.js";

// A full collection before each reading, so that we measure what is retained, not GC timing.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function settledRss(): number {
  gc();
  gc();
  return process.memoryUsage.rss();
}

describe("memory", () => {
  it("1,000 training steps of a small model do not grow RSS by more than 5% after the first 50", () => {
    const cfg = parseConfig({
      model_type: "bert",
      vocab_size: 1000,
      hidden_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 256,
      max_position_embeddings: 64,
    });
    const rng = new Rng(1);
    const model = new BertForSequenceClassification(cfg, rng).train();
    const opt = new AdamW(model.parameters(), { lr: 1e-4 });
    const B = 8;
    const T = 32;
    let rssAt50 = 0;
    let last = 0;
    for (let step = 0; step < 1000; step++) {
      const inputIds = Int32Array.from({ length: B * T }, () => rng.int(1000));
      const attentionMask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i % 5) ? 1 : 0));
      const labels = Int32Array.from({ length: B }, () => rng.int(2));
      last = tidy(() => {
        const loss = ops.crossEntropy(classifyBatch(model, { batchSize: B, seqLen: T, inputIds, attentionMask }), labels);
        backward(loss);
        clipGradNorm(model.parameters(), 1);
        opt.step();
        opt.zeroGrad();
        return loss.item();
      });
      if (step === 49) rssAt50 = settledRss();
    }
    const rssEnd = settledRss();
    const growth = (rssEnd - rssAt50) / rssAt50;
    assert.ok(Number.isFinite(last));
    assert.equal(memoryStats().scopes, 0);
    assert.ok(
      growth <= 0.05,
      `RSS grew ${(growth * 100).toFixed(1)}% (${(rssAt50 / 2 ** 20).toFixed(0)} MiB -> ${(rssEnd / 2 ** 20).toFixed(0)} MiB)`,
    );
  });
});
