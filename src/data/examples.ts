// Turning parsed records into Examples: reading the text / pair / label / meta columns with
// type and emptiness checks, and mapping label values to indices (fixed names or collected).
import type { RecordTable, SourceRecord } from "./parse.js";
import { DatasetError, type Example } from "./types.js";

/** Which columns make an Example, and how to clean its text. */
export interface ExampleColumns {
  textColumn: string;
  textPairColumn?: string;
  labelColumn: string;
  /** Columns copied into `Example.meta` (strings or numbers). */
  metaColumns?: string[];
  /** Applied before trimming, e.g. to drop HTML line breaks. */
  cleanText?: (text: string) => string;
}

/** Maps a label value (already a trimmed string) on a line of a file to its index. */
export type LabelResolver = (key: string, file: string, line: number) => number;

const quoteList = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(", ");

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** The value of `column` in a record; a JSONL object lacking it fails naming the keys it has. */
export function cell(table: RecordTable, record: SourceRecord, column: string): unknown {
  if (!Object.hasOwn(record.values, column)) {
    throw new DatasetError(
      table.file,
      record.line,
      `column ${JSON.stringify(column)} not found; this record has: ${quoteList(Object.keys(record.values))}`,
    );
  }
  return record.values[column];
}

/** A label value as a trimmed string key: strings and integers are accepted. */
export function labelKey(table: RecordTable, record: SourceRecord, column: string): string {
  const value = cell(table, record, column);
  let key: string;
  if (typeof value === "string") key = value.trim();
  else if (typeof value === "number" && Number.isInteger(value)) key = String(value);
  else {
    const shown = typeof value === "number" ? String(value) : describeValue(value);
    throw new DatasetError(
      table.file,
      record.line,
      `label in column ${JSON.stringify(column)} must be a string or an integer, found ${shown}`,
    );
  }
  if (key === "") throw new DatasetError(table.file, record.line, `empty label in column ${JSON.stringify(column)}`);
  return key;
}

/**
 * Resolve label values against known names. With an `indexBase` (0 or 1), an integer that is not
 * itself a name is read as a position counted from that base (GLUE's 0/1 columns: base 0; AG
 * News's 1–4: base 1); with null, only names are accepted.
 */
export function labelResolver(labels: readonly string[], indexBase: 0 | 1 | null, allowedWhat = "allowed"): LabelResolver {
  const byName = new Map<string, number>();
  labels.forEach((name, i) => byName.set(name, i));
  const indexNote =
    indexBase !== null && labels.length > 0
      ? ` (or an index ${indexBase}–${labels.length - 1 + indexBase}, --label-base ${indexBase})`
      : "";
  return (key, file, line) => {
    const named = byName.get(key);
    if (named !== undefined) return named;
    if (indexBase !== null && /^\d+$/.test(key)) {
      const index = Number(key) - indexBase;
      if (index >= 0 && index < labels.length) return index;
    }
    throw new DatasetError(file, line, `unknown label ${JSON.stringify(key)}; ${allowedWhat}: ${quoteList(labels)}${indexNote}`);
  };
}

/** A label value and where it first occurs. */
interface Located {
  key: string;
  file: string;
  line: number;
}

/**
 * How numbers in the label column index the given label names. A number that is not a name is
 * a position, counted from `labelBase` when given; without it only a file whose numbers include 0
 * is read as 0-based, since numbers from 1 (AG News: 1–4) could be either and a silent guess
 * would shift every class. A name that is itself a number must mean the same class both ways.
 */
export function labelIndexBase(
  labels: readonly string[],
  tables: RecordTable[],
  column: string,
  labelBase?: 0 | 1,
): 0 | 1 | null {
  const names = new Set(labels);
  if (labelBase !== undefined) {
    labels.forEach((name, i) => {
      const asIndex = Number(name) - labelBase;
      if (/^\d+$/.test(name) && asIndex !== i && asIndex >= 0 && asIndex < labels.length)
        throw new Error(
          `label ${JSON.stringify(name)} is ambiguous: it names class ${i + labelBase} in --labels and, with --label-base ${labelBase}, is the index of class ${asIndex + labelBase}; rename the classes or drop --label-base`,
        );
    });
    return labelBase;
  }
  const numbers: Located[] = [];
  for (const table of tables)
    for (const record of table.records) {
      const key = labelKey(table, record, column);
      if (!names.has(key) && /^\d+$/.test(key)) numbers.push({ key, file: table.file, line: record.line });
    }
  if (!numbers.length) return null;
  // Names that are numbers (star ratings "1".."5") leave no room for positions: names only.
  if (labels.some((n) => /^\d+$/.test(n))) return null;
  const values = numbers.map((n) => Number(n.key));
  if (values.includes(0)) return 0;
  const first = numbers[0]!;
  throw new DatasetError(
    first.file,
    first.line,
    `the labels are numbers from ${Math.min(...values)} to ${Math.max(...values)}, with no 0, and --labels names ${labels.length} classes: say whether ${quoteList([String(Math.min(...values))])} is the first class (--label-base 1) or the second (--label-base 0)`,
  );
}

/** The sorted set of label values in a table: numerically if all are integers, else by code point. */
export function collectLabels(table: RecordTable, column: string): string[] {
  const seen = new Set<string>();
  for (const record of table.records) seen.add(labelKey(table, record, column));
  const keys = [...seen];
  if (keys.every((k) => /^-?\d+$/.test(k))) return keys.sort((a, b) => Number(a) - Number(b));
  return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function textCell(table: RecordTable, record: SourceRecord, column: string, clean?: (text: string) => string): string {
  const value = cell(table, record, column);
  if (typeof value !== "string") {
    throw new DatasetError(
      table.file,
      record.line,
      `text in column ${JSON.stringify(column)} must be a string, found ${describeValue(value)}`,
    );
  }
  const text = (clean ? clean(value) : value).trim();
  if (text === "") throw new DatasetError(table.file, record.line, `empty text in column ${JSON.stringify(column)}`);
  return text;
}

function metaCell(table: RecordTable, record: SourceRecord, column: string): string | number {
  const value = cell(table, record, column);
  if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) return value;
  throw new DatasetError(
    table.file,
    record.line,
    `meta column ${JSON.stringify(column)} must be a string or a number, found ${describeValue(value)}`,
  );
}

/** Every record of `table` as an Example (texts trimmed; empty text is an error). */
export function toExamples(table: RecordTable, columns: ExampleColumns, resolveLabel: LabelResolver): Example[] {
  const { textColumn, textPairColumn, labelColumn, metaColumns, cleanText } = columns;
  return table.records.map((record) => {
    const text = textCell(table, record, textColumn, cleanText);
    const textPair = textPairColumn === undefined ? undefined : textCell(table, record, textPairColumn, cleanText);
    const label = resolveLabel(labelKey(table, record, labelColumn), table.file, record.line);
    // No textPair key at all for single-sentence tasks, so examples compare and print cleanly.
    const example: Example = textPair === undefined ? { text, label } : { text, textPair, label };
    if (metaColumns && metaColumns.length > 0) {
      const meta: Record<string, string | number> = {};
      for (const column of metaColumns) meta[column] = metaCell(table, record, column);
      example.meta = meta;
    }
    return example;
  });
}

/** The columns an ExampleColumns reads, for header checks. */
export function requiredColumns(columns: ExampleColumns): string[] {
  const names = [columns.textColumn, columns.labelColumn];
  if (columns.textPairColumn !== undefined) names.push(columns.textPairColumn);
  if (columns.metaColumns) names.push(...columns.metaColumns);
  return [...new Set(names)];
}
