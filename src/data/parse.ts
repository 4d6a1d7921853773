// Parsing checked text into records: RFC 4180 CSV, plain TSV and JSON lines, each record with
// the line it starts on, and header / column-count checks that name the file and line.
import { readTextFile } from "./read.js";
import { DatasetError } from "./types.js";

export type Format = "csv" | "tsv" | "jsonl";
export const formats: readonly Format[] = ["csv", "tsv", "jsonl"];

/** One row of a CSV/TSV file: its fields and the (first) line it occupies. */
export interface TableRow {
  line: number;
  fields: string[];
}

/** One parsed record in any format: column name -> value (strings from tables, any JSON value from JSONL). */
export interface SourceRecord {
  line: number;
  values: Record<string, unknown>;
}

export interface RecordTable {
  file: string;
  format: Format;
  /** The header's column names (CSV/TSV); undefined for JSONL, whose keys may vary by line. */
  columns?: string[];
  records: SourceRecord[];
}

/** The format a file name implies: .csv, .tsv/.tab, .jsonl/.ndjson, each optionally followed by .gz. */
export function formatFromPath(file: string): Format {
  const base = file.toLowerCase().replace(/\.gz$/, "");
  if (base.endsWith(".csv")) return "csv";
  if (base.endsWith(".tsv") || base.endsWith(".tab")) return "tsv";
  if (base.endsWith(".jsonl") || base.endsWith(".ndjson")) return "jsonl";
  throw new DatasetError(file, undefined, 'cannot tell the format from the file name; pass format: "csv", "tsv" or "jsonl"');
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * RFC 4180: fields separated by commas, records by CRLF or LF; a quoted field may hold commas,
 * newlines and doubled quotes. A bare quote inside an unquoted field is kept literally (common in
 * real exports); text after a closing quote is an error. Blank lines are skipped.
 */
export function parseCsvRows(text: string, file: string): TableRow[] {
  const rows: TableRow[] = [];
  const unquotedField = /[^,\r\n]*/y;
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const startLine = line;
    const fields: string[] = [];
    let quoted = false;
    for (;;) {
      let field: string;
      if (text.charCodeAt(i) === 0x22) {
        quoted = true;
        const openLine = line;
        field = "";
        i++;
        for (;;) {
          const close = text.indexOf('"', i);
          if (close < 0) {
            throw new DatasetError(
              file,
              openLine,
              `unterminated quoted field (field ${fields.length + 1}): the quote opened here is never closed`,
            );
          }
          const chunk = text.slice(i, close);
          line += countNewlines(chunk);
          field += chunk;
          if (text.charCodeAt(close + 1) === 0x22) {
            field += '"';
            i = close + 2;
          } else {
            i = close + 1;
            break;
          }
        }
        const next = text[i];
        if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
          throw new DatasetError(
            file,
            line,
            `unexpected ${JSON.stringify(next)} after the closing quote of field ${fields.length + 1} (a quote inside a quoted field must be doubled: "")`,
          );
        }
      } else {
        unquotedField.lastIndex = i;
        unquotedField.exec(text);
        field = text.slice(i, unquotedField.lastIndex);
        i = unquotedField.lastIndex;
      }
      fields.push(field);
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      line++;
      break;
    }
    if (!quoted && fields.length === 1 && fields[0] === "") continue;
    rows.push({ line: startLine, fields });
  }
  return rows;
}

/** Plain TSV: one record per line, fields split on tabs, no quoting (GLUE style). Blank lines are skipped. */
export function parseTsvRows(text: string): TableRow[] {
  const rows: TableRow[] = [];
  const lines = text.split("\n");
  for (let k = 0; k < lines.length; k++) {
    let s = lines[k]!;
    if (s.endsWith("\r")) s = s.slice(0, -1);
    if (s === "") continue;
    rows.push({ line: k + 1, fields: s.split("\t") });
  }
  return rows;
}

function describeJsonValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** JSON lines: one object per non-blank line. */
export function parseJsonLines(text: string, file: string): SourceRecord[] {
  const records: SourceRecord[] = [];
  const lines = text.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const s = lines[k]!;
    if (s.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(s);
    } catch (err) {
      throw new DatasetError(file, k + 1, `invalid JSON: ${(err as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new DatasetError(file, k + 1, `expected a JSON object, found ${describeJsonValue(value)}`);
    }
    records.push({ line: k + 1, values: value as Record<string, unknown> });
  }
  return records;
}

const quoteList = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(", ");

export interface ReadRecordsOptions {
  format: Format;
  /** For a file without a header line: the names to give its columns. */
  columnNames?: string[];
  /** Columns the caller will read; a table lacking one fails at its header. */
  requiredColumns: string[];
}

/** Parse `text` (the contents of `file`) into records, checking the header and every row's column count. */
export function parseRecords(file: string, text: string, opts: ReadRecordsOptions): RecordTable {
  const { format } = opts;
  if (format === "jsonl") return { file, format, records: parseJsonLines(text, file) };

  const rows = format === "csv" ? parseCsvRows(text, file) : parseTsvRows(text);
  if (rows.length === 0) throw new DatasetError(file, 1, "the file is empty");
  let header: string[];
  let headerLine: number;
  let dataRows: TableRow[];
  if (opts.columnNames) {
    header = opts.columnNames;
    headerLine = rows[0]?.line ?? 1;
    dataRows = rows;
  } else {
    // Header names are trimmed: "label " and " label" are the same column to a person.
    header = rows[0]!.fields.map((name) => name.trim());
    headerLine = rows[0]!.line;
    dataRows = rows.slice(1);
  }
  const missing = opts.requiredColumns.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    const what = missing.length === 1 ? `column ${quoteList(missing)} not found` : `columns ${quoteList(missing)} not found`;
    throw new DatasetError(file, headerLine, `${what}; the columns are: ${quoteList(header)}`);
  }
  for (const name of opts.requiredColumns) {
    const first = header.indexOf(name);
    const again = header.indexOf(name, first + 1);
    if (again >= 0) {
      throw new DatasetError(
        file,
        headerLine,
        `column ${JSON.stringify(name)} appears twice in the header (columns ${first + 1} and ${again + 1})`,
      );
    }
  }
  if (dataRows.length === 0) throw new DatasetError(file, headerLine, "no data rows after the header");

  const hint =
    format === "csv"
      ? "an unquoted comma, or a quote that is not doubled?"
      : "a tab inside a field? TSV has no quoting; use CSV for such text";
  const records: SourceRecord[] = new Array<SourceRecord>(dataRows.length);
  for (let r = 0; r < dataRows.length; r++) {
    const row = dataRows[r]!;
    if (row.fields.length !== header.length) {
      throw new DatasetError(
        file,
        row.line,
        `expected ${header.length} columns (${quoteList(header)}), found ${row.fields.length} (${hint})`,
      );
    }
    // A null-prototype object: header names such as "__proto__" or "constructor" stay plain keys.
    const values = Object.create(null) as Record<string, unknown>;
    for (let c = 0; c < header.length; c++) values[header[c]!] = row.fields[c];
    records[r] = { line: row.line, values };
  }
  return { file, format, columns: header, records };
}

/** Read `file` (gzip and encoding checked) and parse it into records. */
export function readRecords(file: string, opts: ReadRecordsOptions): RecordTable {
  return parseRecords(file, readTextFile(file), opts);
}
