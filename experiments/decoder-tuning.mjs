/* global process, console */
// The transformer-decoder tuning of experiments/privacy-mini-v2/README.md: the MLP and decoder
// variants attack the same cell (dchi eta 10, k = 2, first 200 dev sentences, --attack-only).
// Run from the repository root after `npm ci`:
//   SAP_THREADS=2 node experiments/decoder-tuning.mjs '[{}, {"epochs":12}, {"epochs":12,"lr":2e-3}]'
import { ATTACKS, runPrivacySweep } from "../dist/src/eval/sweep.js";
import { TransformerInversionAttack } from "../dist/src/attacks/decoder.js";
import { loadTask } from "../dist/src/data/index.js";
import { readDocuments } from "../dist/src/train/corpus.js";

// The session's run used the first defaults as the base: 4 epochs at lr 1e-3.
const base = { hidden: 256, layers: 2, heads: 4, epochs: 4, maxClasses: 5000, lr: 1e-3, batchSize: 32, maxTexts: 4000 };
const variants = JSON.parse(process.argv[2] ?? "[{}]");
variants.forEach((v, i) => (ATTACKS[`tf${i}`] = () => new TransformerInversionAttack({ ...base, ...v })));
const data = "../shared/data";
const dataset = loadTask("sst2", { dataDir: data, maxTrain: 4000, maxEval: 200, seed: 42 });
const publicTexts = readDocuments(`${data}/corpora/brown/brown_sentences_untagged.txt`)
  .flatMap((d) => d.split("\n"))
  .filter((l) => l.trim().length > 0)
  .slice(0, 2000);
const t0 = Date.now();
const { summary } = await runPrivacySweep({
  modelDir: "models/sap-bert-mini",
  dataset,
  split: 2,
  privatizers: ["dchi"],
  etas: [10],
  attacks: ["mlp", ...variants.map((_, i) => `tf${i}`)],
  seeds: 1,
  publicTexts,
  peft: { name: "lora", params: {} },
  epochs: 1,
  batchSize: 32,
  lr: 1e-3,
  maxSeqLen: 64,
  outDir: `runs/decoder-tuning-${Date.now()}`,
  attackOnly: true,
  canaries: 0,
});
for (const r of summary) console.log(r.attack, `${(100 * r.token_recovery).toFixed(2)}%`);
console.log(`seconds ${(Date.now() - t0) / 1000}`);
