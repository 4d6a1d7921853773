// README.md for a pre-trained model directory, written from what the run recorded
// (pretrain-metrics.json) and, when present, downstream results (sst2-results.json).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { readConfig } from "../models/checkpoint.js";
import { formatDuration } from "../split/progress.js";

interface PretrainMetrics {
  options: {
    seqLen: number;
    batchSize: number;
    steps: number;
    lr: number;
    warmupSteps: number;
    maskProb: number;
    gloveInit?: string;
    seed: number;
    data: string[];
  };
  step: number;
  tokensSeen: number;
  elapsedSeconds: number;
  corpus: { files: string[]; documents: number; tokens: number; trainBlocks: number; heldoutBlocks: number };
  history: Array<{ step: number; trainLoss: number; heldoutLoss: number; heldoutAccuracy: number; heldoutPerplexity: number }>;
}

export function writeModelCard(dir: string, command?: string, note?: string): string {
  const m = JSON.parse(readFileSync(join(dir, "pretrain-metrics.json"), "utf8")) as PretrainMetrics;
  const c = readConfig(dir);
  const o = m.options;
  const lines = [
    `# ${basename(dir)}`,
    ``,
    `A small BERT (masked-LM) pre-trained on this project's machines with \`sap pretrain\` (our own engine, 2 CPU cores). No weights were downloaded.`,
    ``,
    `| | |`,
    `|---|---|`,
    `| architecture | BERT, ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads, FFN ${c.intermediateSize}, ${c.maxPositions} positions |`,
    `| vocabulary | bert-base-uncased WordPiece (${c.vocabSize} tokens), \`vocab.txt\` |`,
    `| weights | \`model.safetensors\`, float16 (Hugging Face names; the MLM head \`cls.*\` included) |`,
    `| initialisation | ${o.gloveInit ? `word embeddings from GloVe 6B 100d aligned to the vocabulary (${basename(o.gloveInit)}), by a fixed random projection to ${c.hiddenSize} dims; the rest random (std 0.02)` : "random (std 0.02)"} |`,
    `| data | ${m.corpus.files.map((f) => `\`${f.replace(/^.*shared\/data\//, "")}\``).join(", ")}: ${m.corpus.documents} documents, ${m.corpus.tokens} tokens, packed into blocks of ${o.seqLen} |`,
    `| never seen | SST-2 dev/test sentences (none of the corpora contains them) |`,
    `| training | ${m.step} steps × ${o.batchSize} sequences × ${o.seqLen} tokens = ${m.tokensSeen} tokens (${(m.tokensSeen / m.corpus.tokens).toFixed(2)} epochs); AdamW, lr ${o.lr} with ${o.warmupSteps} warm-up steps and linear decay; masking ${o.maskProb} (80/10/10); seed ${o.seed} |`,
    `| time | ${formatDuration(m.elapsedSeconds)} of training (${Math.round(m.tokensSeen / Math.max(1, m.elapsedSeconds))} tokens/s), sharing 2 cores with other work |`,
    ``,
    `## Held-out masked-LM metric`,
    ``,
    `${m.corpus.heldoutBlocks} held-out blocks of the same corpora (never trained on), the same masks at every evaluation:`,
    ``,
    `| step | train loss (EMA) | held-out loss | held-out accuracy | perplexity |`,
    `|---|---|---|---|---|`,
    ...m.history.map(
      (h) =>
        `| ${h.step} | ${h.trainLoss.toFixed(3)} | ${h.heldoutLoss.toFixed(3)} | ${(100 * h.heldoutAccuracy).toFixed(2)}% | ${h.heldoutPerplexity.toFixed(1)} |`,
    ),
    ``,
  ];
  const downstream = join(dir, "sst2-results.json");
  if (existsSync(downstream)) {
    const rows = JSON.parse(readFileSync(downstream, "utf8")) as Array<{
      setting: string;
      dev_accuracy: number;
      epochs: number;
      train_examples: number;
      command: string;
    }>;
    lines.push(
      `## SST-2 (fine-tuned from this checkpoint)`,
      ``,
      `| setting | SST-2 dev accuracy | epochs | training examples |`,
      `|---|---|---|---|`,
    );
    for (const r of rows)
      lines.push(`| ${r.setting} | ${(100 * r.dev_accuracy).toFixed(2)}% | ${r.epochs} | ${r.train_examples} |`);
    lines.push(``, `Commands: ${rows.map((r) => `\`${r.command}\``).join("; ")}`, ``);
  }
  if (command) lines.push(`## Reproduce`, ``, "```sh", command, "```", ``);
  if (note) lines.push(`## As run`, ``, note, ``);
  const text = lines.join("\n");
  writeFileSync(join(dir, "README.md"), text);
  return text;
}
