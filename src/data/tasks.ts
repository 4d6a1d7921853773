// Built-in tasks by name (SST-2, IMDB, CoLA, MRPC, RTE, SST-5), read from the shared data folder
// in the layout of ../shared/data/README.md.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { labelResolver, requiredColumns, toExamples, type ExampleColumns } from "./examples.js";
import { readRecords, type Format } from "./parse.js";
import { applySubsets, checkSubsetOptions } from "./sample.js";
import { readSentimentTrees, sst5Labels } from "./sst-trees.js";
import type { Dataset, Example, SubsetOptions } from "./types.js";

export const taskNames = ["sst2", "imdb", "cola", "mrpc", "rte", "sst5"] as const;
export type TaskName = (typeof taskNames)[number];

export interface TaskOptions extends SubsetOptions {
  /** The shared data folder (holding datasets/); default: defaultDataDir(). */
  dataDir?: string;
}

export function isTaskName(name: string): name is TaskName {
  return (taskNames as readonly string[]).includes(name);
}

/** sap's own folder (the one with its package.json), found from this file wherever it was built to. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) if (existsSync(join(dir, "package.json"))) return dir;
  return resolve(here, "..", "..", "..");
}

/**
 * The shared data folder: $SAP_SHARED_DIR/data when that names the shared folder (it holds data/
 * and fixtures/), else shared/data next to the sap package. Not the working directory: a command
 * must find the same data wherever it is run from.
 */
export function defaultDataDir(env: Record<string, string | undefined> = process.env): string {
  const shared = env.SAP_SHARED_DIR;
  if (shared) return resolve(shared, "data");
  return resolve(packageRoot(), "..", "shared", "data");
}

interface TableSource {
  format: Format;
  columns: ExampleColumns;
  labels: string[];
  /** For files without a header line. */
  columnNames?: string[];
}

function loadTable(file: string, source: TableSource): Example[] {
  const table = readRecords(file, {
    format: source.format,
    columnNames: source.columnNames,
    requiredColumns: requiredColumns(source.columns),
  });
  return toExamples(table, source.columns, labelResolver(source.labels, 0));
}

/** IMDB reviews keep the HTML line breaks of the site; a run of them becomes one space. */
export function cleanImdbText(text: string): string {
  return text.replace(/(?:\s*<br\s*\/?>\s*)+/gi, " ");
}

interface TaskSpec {
  title: string;
  labels: string[];
  load(dataDir: string): { train: Example[]; dev: Example[]; test?: Example[]; files: string[] };
}

function tableTask(
  title: string,
  dir: string[],
  files: { train: string; dev: string; test?: string },
  source: TableSource,
): TaskSpec {
  return {
    title,
    labels: source.labels,
    load(dataDir) {
      const base = join(dataDir, ...dir);
      const train = join(base, files.train);
      const dev = join(base, files.dev);
      const test = files.test === undefined ? undefined : join(base, files.test);
      const hasTest = test !== undefined && existsSync(test);
      return {
        train: loadTable(train, source),
        dev: loadTable(dev, source),
        ...(hasTest ? { test: loadTable(test, source) } : {}),
        files: hasTest ? [train, dev, test] : [train, dev],
      };
    },
  };
}

const binarySentiment = ["negative", "positive"];

/** A GLUE sentence-pair task in datasets/glue/NAME: TSV with two text columns and a label column. */
function gluePairs(
  title: string,
  name: string,
  train: string,
  [a, b, label]: [string, string, string],
  labels: string[],
): TaskSpec {
  return tableTask(
    title,
    ["datasets", "glue", name],
    { train, dev: "dev.tsv" },
    {
      format: "tsv",
      columns: { textColumn: a, textPairColumn: b, labelColumn: label },
      labels,
    },
  );
}

const tasks: Record<TaskName, TaskSpec> = {
  sst2: tableTask(
    "SST-2 (GLUE), binary sentiment of movie-review sentences",
    ["datasets", "sst2"],
    { train: "train.tsv", dev: "dev.tsv", test: "test-labeled.tsv" },
    { format: "tsv", columns: { textColumn: "sentence", labelColumn: "label" }, labels: binarySentiment },
  ),
  imdb: tableTask(
    "IMDB reviews (Maas et al. 2011), binary sentiment; dev is the official test split; meta.rating is the 1-10 star score",
    ["datasets", "imdb"],
    { train: "train.jsonl.gz", dev: "test.jsonl.gz" },
    {
      format: "jsonl",
      columns: { textColumn: "text", labelColumn: "label", metaColumns: ["rating"], cleanText: cleanImdbText },
      labels: binarySentiment,
    },
  ),
  cola: tableTask(
    "CoLA (GLUE), grammatical acceptability; meta.source is the source publication code",
    ["datasets", "glue", "CoLA"],
    { train: "train.tsv", dev: "dev.tsv" },
    {
      format: "tsv",
      columnNames: ["source", "label", "originalMark", "sentence"],
      columns: { textColumn: "sentence", labelColumn: "label", metaColumns: ["source"] },
      labels: ["unacceptable", "acceptable"],
    },
  ),
  mrpc: gluePairs(
    "MRPC (GLUE), paraphrase pairs; train rebuilt from the MSR release (complete 3,668 pairs)",
    "MRPC",
    "train_rebuilt_from_msr.tsv",
    ["#1 String", "#2 String", "Quality"],
    ["not_equivalent", "equivalent"],
  ),
  rte: gluePairs(
    "RTE (GLUE), textual entailment pairs",
    "RTE",
    "train.tsv",
    ["sentence1", "sentence2", "label"],
    ["entailment", "not_entailment"],
  ),
  sst5: {
    title: "SST-5, five-class sentiment of whole sentences (root labels of the Stanford Sentiment Treebank)",
    labels: sst5Labels,
    load(dataDir) {
      const base = join(dataDir, "datasets", "sst-trees");
      const files = ["train.txt", "dev.txt", "test.txt"].map((f) => join(base, f));
      const [train, dev, test] = files.map(readSentimentTrees);
      return { train: train!, dev: dev!, test: test!, files };
    },
  },
};

/** Load a built-in task; maxTrain / maxEval take a seeded, label-stratified subset. */
export function loadTask(name: string, opts: TaskOptions = {}): Dataset {
  if (!isTaskName(name)) throw new Error(`unknown task ${JSON.stringify(name)}; the tasks are: ${taskNames.join(", ")}`);
  checkSubsetOptions(opts);
  const spec = tasks[name];
  const dataDir = resolve(opts.dataDir ?? defaultDataDir());
  if (!existsSync(join(dataDir, "datasets"))) {
    throw new Error(
      `no datasets/ folder in the data dir ${dataDir}; pass dataDir (CLI: --data-dir) pointing at shared/data, or set SAP_SHARED_DIR to the shared folder`,
    );
  }
  const { train, dev, test, files } = spec.load(dataDir);
  const dataset: Dataset = {
    name,
    labels: spec.labels.slice(),
    train,
    dev,
    ...(test ? { test } : {}),
    source: `${spec.title}; files: ${files.join(", ")}`,
  };
  return applySubsets(dataset, opts);
}
