/* global process, console */
// Prints the campaign's learning curve (held-out masked-LM loss and accuracy against tokens seen)
// as a Markdown table, from the committed snapshot's state. Run from the repository root:
//   node experiments/pretrain-mini2/curve.mjs [models/sap-bert-mini-2]
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "models/sap-bert-mini-2";
const s = JSON.parse(readFileSync(join(dir, "pretrain-state.json"), "utf8"));
const tokensPerStep = s.schedule.seqLen * s.schedule.batchSize * s.schedule.accumulate;
console.log(
  `step ${s.step}, ${(s.tokensSeen / 1e6).toFixed(2)}M tokens seen, ${(s.elapsedSeconds / 3600).toFixed(2)} h wall, ${((s.cpuSeconds ?? 0) / 3600).toFixed(2)} CPU-hours, restarts at ${JSON.stringify(s.restarts ?? [])}`,
);
console.log("");
console.log("| step | tokens seen | train loss (EMA) | held-out loss | held-out accuracy | perplexity |");
console.log("|---|---|---|---|---|---|");
for (const h of s.history)
  console.log(
    `| ${h.step} | ${((h.step * tokensPerStep) / 1e6).toFixed(1)}M | ${h.trainLoss.toFixed(3)} | ${h.heldoutLoss.toFixed(3)} | ${(100 * h.heldoutAccuracy).toFixed(2)}% | ${h.heldoutPerplexity.toFixed(1)} |`,
  );
