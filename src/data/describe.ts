// Summaries of a dataset for reports: example counts and label distribution per split.
import type { Dataset, Example } from "./types.js";

export interface SplitSummary {
  count: number;
  /** Examples per label, indexed like Dataset.labels. */
  labelCounts: number[];
  /** Whether the examples are sentence pairs. */
  pairs: boolean;
}

export interface DatasetSummary {
  name: string;
  labels: string[];
  source: string;
  splits: { train: SplitSummary; dev: SplitSummary; test?: SplitSummary };
}

function summarizeSplit(examples: readonly Example[], labelCount: number): SplitSummary {
  const labelCounts = new Array<number>(labelCount).fill(0);
  for (const example of examples) labelCounts[example.label]!++;
  return { count: examples.length, labelCounts, pairs: examples.some((e) => e.textPair !== undefined) };
}

export function summarizeDataset(dataset: Dataset): DatasetSummary {
  const n = dataset.labels.length;
  const splits: DatasetSummary["splits"] = {
    train: summarizeSplit(dataset.train, n),
    dev: summarizeSplit(dataset.dev, n),
  };
  if (dataset.test) splits.test = summarizeSplit(dataset.test, n);
  return { name: dataset.name, labels: dataset.labels.slice(), source: dataset.source, splits };
}

/** A few lines of text: name, labels, source, then per split the count and each label's count and share. */
export function describeDataset(dataset: Dataset): string {
  const summary = summarizeDataset(dataset);
  const fmt = (x: number): string => x.toLocaleString("en-US");
  const lines = [
    `${summary.name}: ${summary.labels.length} labels (${summary.labels.join(", ")})${summary.splits.train.pairs ? ", sentence pairs" : ""}`,
    `  source: ${summary.source}`,
  ];
  for (const [split, s] of Object.entries(summary.splits)) {
    const shares = s.labelCounts
      .map((c, i) => `${summary.labels[i]} ${fmt(c)} (${s.count ? ((100 * c) / s.count).toFixed(1) : "0.0"}%)`)
      .join(", ");
    lines.push(`  ${split.padEnd(5)} ${fmt(s.count).padStart(7)}: ${shares}`);
  }
  return lines.join("\n");
}
