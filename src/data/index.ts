// Datasets for fine-tuning: built-in text-classification tasks, user CSV/TSV/JSONL files, seeded
// subsets, and summaries for reports.
export { DatasetError, type Dataset, type Example, type SubsetOptions } from "./types.js";
export { defaultDataDir, isTaskName, loadTask, taskNames, cleanImdbText, type TaskName, type TaskOptions } from "./tasks.js";
export { loadUserDataset, type UserDatasetOptions } from "./user.js";
export { describeDataset, summarizeDataset, type DatasetSummary, type SplitSummary } from "./describe.js";
export { applySubsets, createRng, shuffleInPlace, stratifiedSample } from "./sample.js";
export { formatFromPath, parseCsvRows, parseTsvRows, parseJsonLines, type Format, type TableRow } from "./parse.js";
export { readTextFile } from "./read.js";
export { parseSentimentTree, readSentimentTrees, sst5Labels, unescapePtbToken } from "./sst-trees.js";
