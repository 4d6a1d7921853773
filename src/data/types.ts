// The data model shared by every loader: one labelled example, a dataset with its splits, the
// subset options, and the DatasetError that points at the offending file and line.

/** One classification example; `label` indexes into `Dataset.labels`. */
export interface Example {
  text: string;
  /** The second sentence of a sentence-pair task (MRPC, RTE). */
  textPair?: string;
  label: number;
  /** extra columns kept for attribute-inference experiments, e.g. IMDB "rating" */
  meta?: Record<string, string | number>;
}

export interface Dataset {
  name: string;
  /** Label names; an example's label is an index into this list. */
  labels: string[];
  train: Example[];
  dev: Example[];
  test?: Example[];
  /** where it came from, for reports */
  source: string;
}

/** Seeded subsetting shared by built-in tasks and user datasets. */
export interface SubsetOptions {
  /** Keep at most this many training examples (a seeded, label-stratified random subset). */
  maxTrain?: number;
  /** Keep at most this many examples in each of dev and test. */
  maxEval?: number;
  /** Seed of the subset / split draws (default 0); the same seed gives the same subset. */
  seed?: number;
}

/** Bad input data: `file` is the path as given, `line` the 1-based line (undefined for whole-file problems). */
export class DatasetError extends Error {
  override readonly name = "DatasetError";
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}, line ${line}: ${reason}`);
  }
}
