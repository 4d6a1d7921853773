// User-supplied datasets: CSV / TSV / JSONL files (optionally gzipped) with named columns, labels
// given or collected from train, and a seeded 10% dev split when no dev file is given.
import { basename } from "node:path";
import {
  collectLabels,
  labelIndexBase,
  labelResolver,
  requiredColumns,
  toExamples,
  type ExampleColumns,
  type LabelResolver,
} from "./examples.js";
import { formatFromPath, formats, readRecords, type Format, type RecordTable } from "./parse.js";
import { applySubsets, checkSubsetOptions, splitOffDev } from "./sample.js";
import type { Dataset, Example, SubsetOptions } from "./types.js";

export interface UserDatasetOptions extends SubsetOptions {
  train: string;
  dev?: string;
  test?: string;
  /** Default: from each file's extension (.csv, .tsv, .jsonl, each optionally .gz). */
  format?: Format;
  textColumn: string;
  textPairColumn?: string;
  labelColumn: string;
  /** Label names: values must be one of them or an index into them. Default: the sorted set of values in train. */
  labels?: string[];
  /**
   * With `labels`: numbers in the label column are positions counted from 0 or from 1. Without it
   * numbers are read as 0-based only when they include 0; numbers from 1 are refused as ambiguous.
   */
  labelBase?: 0 | 1;
  /** Extra columns to keep in Example.meta (e.g. an attribute for inference attacks). */
  metaColumns?: string[];
  /** Fraction of train split off as dev when no dev file is given (default 0.1). */
  devFraction?: number;
  /** Dataset name for reports (default: the train file's name without extensions). */
  name?: string;
}

function checkLabelNames(labels: readonly string[]): void {
  if (labels.length === 0) throw new Error("labels must not be empty");
  const seen = new Set<string>();
  for (const label of labels) {
    if (typeof label !== "string" || label.trim() === "")
      throw new Error(`labels must be non-empty strings, got ${JSON.stringify(label)}`);
    if (seen.has(label)) throw new Error(`label ${JSON.stringify(label)} is listed twice`);
    seen.add(label);
  }
}

/** Load a user's dataset; bad input throws a DatasetError naming the file and line. */
export function loadUserDataset(opts: UserDatasetOptions): Dataset {
  const seed = checkSubsetOptions(opts);
  if (opts.format !== undefined && !formats.includes(opts.format)) {
    throw new Error(`format must be one of ${formats.join(", ")}, got ${JSON.stringify(opts.format)}`);
  }
  if (opts.labels) checkLabelNames(opts.labels);
  if (opts.labelBase !== undefined && opts.labelBase !== 0 && opts.labelBase !== 1)
    throw new Error(`labelBase (--label-base) must be 0 or 1, got ${JSON.stringify(opts.labelBase)}`);
  if (opts.labelBase !== undefined && !opts.labels)
    throw new Error("labelBase (--label-base) says how numbers index the given labels: give labels (--labels) too");
  const columns: ExampleColumns = {
    textColumn: opts.textColumn,
    textPairColumn: opts.textPairColumn,
    labelColumn: opts.labelColumn,
    metaColumns: opts.metaColumns,
  };
  const read = (file: string): RecordTable =>
    readRecords(file, { format: opts.format ?? formatFromPath(file), requiredColumns: requiredColumns(columns) });

  const trainTable = read(opts.train);
  const devTable = opts.dev === undefined ? undefined : read(opts.dev);
  const testTable = opts.test === undefined ? undefined : read(opts.test);

  let labels: string[];
  let resolve: LabelResolver;
  if (opts.labels) {
    labels = opts.labels.slice();
    const tables = [trainTable, devTable, testTable].filter((t): t is RecordTable => t !== undefined);
    resolve = labelResolver(labels, labelIndexBase(labels, tables, opts.labelColumn, opts.labelBase));
  } else {
    labels = collectLabels(trainTable, opts.labelColumn);
    resolve = labelResolver(labels, null, `the labels in ${opts.train} are`);
  }

  let train = toExamples(trainTable, columns, resolve);
  let dev: Example[];
  if (devTable) dev = toExamples(devTable, columns, resolve);
  else ({ train, dev } = splitOffDev(train, opts.devFraction ?? 0.1, seed, opts.train));
  const test = testTable ? toExamples(testTable, columns, resolve) : undefined;

  const devSource = opts.dev ?? `${Math.round((opts.devFraction ?? 0.1) * 100)}% of train (seed ${seed})`;
  const dataset: Dataset = {
    name:
      opts.name ??
      basename(opts.train)
        .replace(/(\.gz)?$/i, "")
        .replace(/\.[^.]*$/, ""),
    labels,
    train,
    dev,
    ...(test ? { test } : {}),
    source: `user files: train ${opts.train}; dev ${devSource}${opts.test ? `; test ${opts.test}` : ""}`,
  };
  return applySubsets(dataset, opts);
}
