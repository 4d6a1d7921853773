// A pre-training campaign outlives its machine: gradient accumulation is counted, the committed
// snapshot (fp16 weights + loop state) is written at every checkpoint, and --resume without the
// full checkpoint continues from the snapshot with fresh optimizer moments (the restart rule),
// refusing a schedule that would change the data order.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { PRESETS, SNAPSHOT_STATE, pretrain, type PretrainOptions, type PretrainState } from "../../src/train/pretrain.js";
import { dataPath } from "../paths.js";

const dir = mkdtempSync(join(tmpdir(), "sap-pretrain-campaign-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// 400 short lines of real English prose, enough for a few dozen blocks of 32 tokens.
const corpus = join(dir, "corpus.txt");
writeFileSync(
  corpus,
  readFileSync(dataPath("corpora", "wikitext-2", "valid.txt"), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 40)
    .slice(0, 400)
    .join("\n"),
);

const base = (out: string, over: Partial<PretrainOptions> = {}): PretrainOptions => ({
  config: { ...PRESETS["sap-bert-tiny"], num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64 },
  tokenizerDir: dataPath("tokenizers", "bert-base-uncased"),
  data: [corpus],
  outDir: out,
  seqLen: 32,
  batchSize: 2,
  accumulate: 2,
  steps: 4,
  lr: 1e-3,
  warmupSteps: 1,
  weightDecay: 0.01,
  maskProb: 0.15,
  clip: 1,
  seed: 3,
  checkpointEvery: 2,
  evalEvery: 2,
  heldoutBlocks: 4,
  resume: false,
  rewarmSteps: 3,
  ...over,
});

describe("pre-training campaign", () => {
  it("counts accumulated micro-batches and writes the snapshot", async () => {
    const out = join(dir, "acc");
    const res = await pretrain(base(out));
    assert.equal(res.step, 4);
    assert.equal(res.tokensSeen, 4 * 2 * 2 * 32, "4 steps x 2 micro-batches x 2 blocks x 32 tokens");
    assert.equal(res.cursor % 4, 0);
    const snap = JSON.parse(readFileSync(join(out, SNAPSHOT_STATE), "utf8")) as PretrainState;
    assert.equal(snap.step, 4);
    assert.deepEqual(snap.schedule, { seqLen: 32, batchSize: 2, accumulate: 2, seed: 3, maskProb: 0.15 });
    assert.ok((snap.cpuSeconds ?? 0) > 0);
    for (const f of ["model.safetensors", "config.json", "vocab.txt"]) assert.ok(existsSync(join(out, f)), f);
    // The weights in the snapshot are fp16, as committed.
    const header = readFileSync(join(out, "model.safetensors"));
    assert.match(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString(), /"F16"/);
  });

  it("resumes from the snapshot alone by the restart rule, and refuses another schedule", async () => {
    const out = join(dir, "restart");
    await pretrain(base(out));
    rmSync(join(out, "checkpoint"), { recursive: true, force: true }); // as on a new machine
    await assert.rejects(pretrain(base(out, { steps: 6, resume: true, batchSize: 3 })), /batchSize 2, not 3/);
    const res = await pretrain(base(out, { steps: 6, resume: true }));
    assert.equal(res.step, 6);
    assert.deepEqual(res.restarts, [4]);
    assert.equal(res.tokensSeen, 6 * 2 * 2 * 32);
    assert.deepEqual(
      res.history.map((h) => h.step),
      [2, 4, 6],
      "the curve continues",
    );
    // With the full checkpoint present, --resume uses it and records no restart.
    const again = await pretrain(base(out, { steps: 8, resume: true }));
    assert.deepEqual(again.restarts, [4]);
    assert.equal(again.step, 8);
  });
});
