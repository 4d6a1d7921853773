// User datasets: CSV / TSV / JSONL (and gzipped) happy paths, label handling, the seeded dev
// split, and every bad-input error naming the file and the line.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import { DatasetError, loadUserDataset, type UserDatasetOptions } from "../../src/data/index.js";

const dir = mkdtempSync(join(tmpdir(), "sap-data-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** Assert `fn` throws a DatasetError for `file` at `line` whose message names both and holds each fragment. */
function throwsDatasetError(fn: () => unknown, file: string, line: number | undefined, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DatasetError, `a DatasetError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.line, line);
    assert.ok(err.message.startsWith(file), `message names the file: ${err.message}`);
    if (line !== undefined) assert.ok(err.message.includes(`, line ${line}: `), `message names line ${line}: ${err.message}`);
    for (const fragment of fragments)
      assert.ok(err.message.includes(fragment), `message ${JSON.stringify(err.message)} contains ${JSON.stringify(fragment)}`);
    return true;
  });
}

const csvColumns = { textColumn: "text", labelColumn: "label" } satisfies Partial<UserDatasetOptions>;

describe("user datasets: happy paths", () => {
  it("CSV with RFC 4180 quoting, CRLF and collected string labels", () => {
    const train = write(
      "reviews.csv",
      'id,text,label\r\n1,"Great, really great",pos\r\n2,"She said ""meh""",neg\r\n3,"two\nlines",neu\r\n\r\n4,plain text,pos\r\n',
    );
    const dev = write("reviews-dev.csv", 'text,label,id\n"ok, fine",neu,9\n');
    const ds = loadUserDataset({ train, dev, ...csvColumns, metaColumns: ["id"] });
    assert.equal(ds.name, "reviews");
    assert.deepEqual(ds.labels, ["neg", "neu", "pos"]);
    assert.deepEqual(ds.train, [
      { text: "Great, really great", label: 2, meta: { id: "1" } },
      { text: 'She said "meh"', label: 0, meta: { id: "2" } },
      { text: "two\nlines", label: 1, meta: { id: "3" } },
      { text: "plain text", label: 2, meta: { id: "4" } },
    ]);
    assert.deepEqual(ds.dev, [{ text: "ok, fine", label: 1, meta: { id: "9" } }]);
    assert.equal(ds.test, undefined);
    assert.ok(ds.source.includes(train) && ds.source.includes(dev));
  });

  it("TSV pairs with given labels, by name or by index", () => {
    const train = write("pairs.tsv", 'premise\thypothesis\tlabel\nA "quoted" cat.\tA cat.\tentailment\nA dog.\tNo dog.\t1\n');
    const ds = loadUserDataset({
      train,
      dev: train,
      textColumn: "premise",
      textPairColumn: "hypothesis",
      labelColumn: "label",
      labels: ["entailment", "contradiction"],
      labelBase: 0,
    });
    assert.deepEqual(ds.labels, ["entailment", "contradiction"]);
    assert.deepEqual(ds.train, [
      { text: 'A "quoted" cat.', textPair: "A cat.", label: 0 },
      { text: "A dog.", textPair: "No dog.", label: 1 },
    ]);
  });

  it("JSONL with integer labels (sorted numerically) and numeric meta", () => {
    const lines = [
      { text: "ten", stars: 10, rating: 4.5 },
      { text: "two", stars: 2, rating: 1 },
      { text: "nine", stars: 9, rating: 3 },
    ];
    const train = write("stars.jsonl", lines.map((o) => JSON.stringify(o)).join("\n") + "\n\n");
    const ds = loadUserDataset({ train, dev: train, textColumn: "text", labelColumn: "stars", metaColumns: ["rating"] });
    assert.deepEqual(ds.labels, ["2", "9", "10"]);
    assert.deepEqual(ds.train, [
      { text: "ten", label: 2, meta: { rating: 4.5 } },
      { text: "two", label: 0, meta: { rating: 1 } },
      { text: "nine", label: 1, meta: { rating: 3 } },
    ]);
  });

  it("gzipped files and a UTF-8 BOM, formats from the extensions", () => {
    const gz = write("small.jsonl.gz", gzipSync('{"text":"héllo wörld","label":"a"}\n{"text":"second","label":"b"}\n'));
    const bom = write("bom.csv.gz", gzipSync("\ufefftext,label\nfirst,b\n"));
    const ds = loadUserDataset({ train: gz, dev: bom, ...csvColumns, labels: ["a", "b"] });
    assert.equal(ds.name, "small");
    assert.deepEqual(ds.train, [
      { text: "héllo wörld", label: 0 },
      { text: "second", label: 1 },
    ]);
    assert.deepEqual(ds.dev, [{ text: "first", label: 1 }]);
  });

  it("an explicit format for an unknown extension, and a test file", () => {
    const train = write("data.txt", "text\tlabel\nthird\ta\nfourth\tb\n");
    const ds = loadUserDataset({ train, dev: train, test: train, format: "tsv", ...csvColumns, name: "mine" });
    assert.equal(ds.name, "mine");
    assert.deepEqual(ds.test, [
      { text: "third", label: 0 },
      { text: "fourth", label: 1 },
    ]);
  });

  it("without a dev file, a seeded stratified 10% is split off", () => {
    const rows = Array.from({ length: 60 }, (_, i) => `example number ${i},${i % 3 === 0 ? "rare" : "common"}`);
    const train = write("split.csv", "text,label\n" + rows.join("\n"));
    const a = loadUserDataset({ train, ...csvColumns, seed: 11 });
    const b = loadUserDataset({ train, ...csvColumns, seed: 11 });
    const c = loadUserDataset({ train, ...csvColumns, seed: 12 });
    assert.deepEqual([a.train.length, a.dev.length], [54, 6]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.dev, c.dev);
    // 20 rare / 40 common -> 2 / 4 in dev; the two parts are disjoint and cover train.
    assert.deepEqual(a.labels, ["common", "rare"]);
    assert.deepEqual([a.dev.filter((e) => e.label === 0).length, a.dev.filter((e) => e.label === 1).length], [4, 2]);
    const texts = [...a.train, ...a.dev].map((e) => e.text).sort();
    assert.deepEqual(texts, rows.map((r) => r.split(",")[0]!).sort());
    assert.match(a.source, /dev 10% of train \(seed 11\)/);
    const subset = loadUserDataset({ train, ...csvColumns, seed: 11, maxTrain: 9, maxEval: 3 });
    assert.deepEqual([subset.train.length, subset.dev.length], [9, 3]);
  });
});

describe("user datasets: errors name the file and line", () => {
  it("wrong number of columns (CSV), counted in physical lines after a multi-line field", () => {
    const file = write("cols.csv", 'text,label\n"a\nb",x\nok,y\nbroken, with comma,y\n');
    throwsDatasetError(
      () => loadUserDataset({ train: file, ...csvColumns }),
      file,
      5,
      "expected 2 columns",
      "found 3",
      "unquoted comma",
    );
  });

  it("wrong number of columns (TSV)", () => {
    const file = write("cols.tsv", "text\tlabel\nfine\t1\nno label here\n");
    throwsDatasetError(() => loadUserDataset({ train: file, ...csvColumns }), file, 3, "expected 2 columns", "found 1", "tab");
  });

  it("unterminated quote: the line where the quote opens", () => {
    const file = write("quote.csv", 'text,label\nfine,1\n"never closed,1\nmore,0\n');
    throwsDatasetError(() => loadUserDataset({ train: file, ...csvColumns }), file, 3, "unterminated quoted field");
  });

  it("text after a closing quote", () => {
    const file = write("after.csv", 'text,label\n"he said "hi"",1\n');
    throwsDatasetError(
      () => loadUserDataset({ train: file, ...csvColumns }),
      file,
      2,
      'unexpected "h" after the closing quote',
      '""',
    );
  });

  it("missing columns name the columns that exist", () => {
    const file = write("missing.csv", "review,stars\ngood,5\n");
    throwsDatasetError(
      () => loadUserDataset({ train: file, ...csvColumns }),
      file,
      1,
      'columns "text", "label" not found; the columns are: "review", "stars"',
    );
    const jsonl = write("missing.jsonl", '{"text":"a","label":"x"}\n{"text":"b","lable":"y"}\n');
    throwsDatasetError(
      () => loadUserDataset({ train: jsonl, ...csvColumns }),
      jsonl,
      2,
      'column "label" not found; this record has: "text", "lable"',
    );
  });

  it("numeric labels with --labels: 0-based when they include 0, 1-based only when told, ambiguity refused", () => {
    const agNews = ["World", "Sports", "Business", "Sci/Tech"];
    const file = write("ag.csv", "text,label\nw,1\ns,2\nb,3\nt,4\n");
    // 1..4 could be 1-based (AG News) or 0-based with class 0 missing: no silent guess.
    assert.throws(
      () => loadUserDataset({ train: file, dev: file, ...csvColumns, labels: agNews }),
      (e: Error) =>
        e instanceof DatasetError &&
        e.line === 2 &&
        /numbers from 1 to 4, with no 0/.test(e.message) &&
        /--label-base 1/.test(e.message),
    );
    const one = loadUserDataset({ train: file, dev: file, ...csvColumns, labels: agNews, labelBase: 1 });
    assert.deepEqual(
      one.train.map((e) => agNews[e.label]),
      agNews,
      "1 is World, 4 is Sci/Tech",
    );
    throwsDatasetError(
      () => loadUserDataset({ train: file, dev: file, ...csvColumns, labels: agNews, labelBase: 0 }),
      file,
      5,
      'unknown label "4"; allowed: "World", "Sports", "Business", "Sci/Tech" (or an index 0–3, --label-base 0)',
    );
    const zero = write("zero.csv", "text,label\nw,0\nt,3\n");
    assert.deepEqual(
      loadUserDataset({ train: zero, dev: zero, ...csvColumns, labels: agNews }).train.map((e) => e.label),
      [0, 3],
    );
    // A dev file's 0 counts: the numbers are read across every file.
    assert.deepEqual(
      loadUserDataset({ train: write("no0.csv", "text,label\nt,3\n"), dev: zero, ...csvColumns, labels: agNews }).train.map(
        (e) => e.label,
      ),
      [3],
    );
    // Names that are numbers are names; with a base they must mean the same class both ways.
    const stars = write("stars.csv", "text,label\na,1\nb,2\n");
    assert.deepEqual(
      loadUserDataset({ train: stars, dev: stars, ...csvColumns, labels: ["2", "1"] }).train.map((e) => e.label),
      [1, 0],
    );
    assert.throws(
      () => loadUserDataset({ train: stars, dev: stars, ...csvColumns, labels: ["2", "1"], labelBase: 1 }),
      /label "2" is ambiguous: it names class 1 in --labels and, with --label-base 1, is the index of class 2/,
    );
    assert.deepEqual(
      loadUserDataset({ train: stars, dev: stars, ...csvColumns, labels: ["1", "2"], labelBase: 1 }).train.map((e) => e.label),
      [0, 1],
    );
    assert.throws(() => loadUserDataset({ train: stars, ...csvColumns, labelBase: 1 }), /give labels \(--labels\) too/);
  });

  it("unknown labels name the label and the allowed set", () => {
    const file = write("labels.csv", "text,label\na,pos\nb,neutral\n");
    throwsDatasetError(
      () => loadUserDataset({ train: file, ...csvColumns, labels: ["neg", "pos"] }),
      file,
      3,
      'unknown label "neutral"; allowed: "neg", "pos"',
    );
    const indexOut = write("index.csv", "text,label\na,0\nb,2\n");
    throwsDatasetError(
      () => loadUserDataset({ train: indexOut, ...csvColumns, labels: ["neg", "pos"] }),
      indexOut,
      3,
      'unknown label "2"; allowed: "neg", "pos" (or an index 0–1, --label-base 0)',
    );
    // Without given labels, dev labels must be among those seen in train.
    const train = write("seen.csv", "text,label\na,pos\nb,neg\n");
    const dev = write("seen-dev.csv", "text,label\nc,pos\nd,meh\n");
    throwsDatasetError(
      () => loadUserDataset({ train, dev, ...csvColumns }),
      dev,
      3,
      'unknown label "meh"',
      `the labels in ${train} are: "neg", "pos"`,
    );
  });

  it("labels that are neither strings nor integers, and empty labels", () => {
    const file = write("float.jsonl", '{"text":"a","label":1}\n{"text":"b","label":0.5}\n');
    throwsDatasetError(
      () => loadUserDataset({ train: file, ...csvColumns }),
      file,
      2,
      "must be a string or an integer, found 0.5",
    );
    const empty = write("nolabel.csv", "text,label\na,x\nb, \n");
    throwsDatasetError(() => loadUserDataset({ train: empty, ...csvColumns }), empty, 3, 'empty label in column "label"');
  });

  it("empty text", () => {
    const file = write("empty-text.csv", 'text,label\na,1\n"  ",0\n');
    throwsDatasetError(() => loadUserDataset({ train: file, ...csvColumns }), file, 3, 'empty text in column "text"');
    const jsonl = write("null-text.jsonl", '{"text":null,"label":1}\n');
    throwsDatasetError(
      () => loadUserDataset({ train: jsonl, ...csvColumns }),
      jsonl,
      1,
      'text in column "text" must be a string, found null',
    );
  });

  it("empty files and header-only files", () => {
    const empty = write("empty.csv", "");
    throwsDatasetError(() => loadUserDataset({ train: empty, ...csvColumns }), empty, 1, "the file is empty");
    const blank = write("blank.jsonl", "\n  \n");
    throwsDatasetError(() => loadUserDataset({ train: blank, ...csvColumns }), blank, 1, "the file is empty");
    const headerOnly = write("header-only.tsv", "text\tlabel\n");
    throwsDatasetError(
      () => loadUserDataset({ train: headerOnly, ...csvColumns }),
      headerOnly,
      1,
      "no data rows after the header",
    );
  });

  it("invalid JSON and non-object lines", () => {
    const file = write("bad.jsonl", '{"text":"a","label":1}\n\n{"text":"b", label: 2}\n');
    throwsDatasetError(() => loadUserDataset({ train: file, ...csvColumns }), file, 3, "invalid JSON");
    const array = write("array.jsonl", '{"text":"a","label":1}\n["b", 2]\n');
    throwsDatasetError(
      () => loadUserDataset({ train: array, ...csvColumns }),
      array,
      2,
      "expected a JSON object, found an array",
    );
  });

  it("invalid UTF-8 (Latin-1) on the line it occurs", () => {
    const latin1 = Buffer.concat([Buffer.from("text,label\nfine,1\ncaf"), Buffer.from([0xe9]), Buffer.from(",0\n")]);
    const file = write("latin1.csv", latin1);
    throwsDatasetError(() => loadUserDataset({ train: file, ...csvColumns }), file, 3, "invalid UTF-8", "must be UTF-8");
  });

  it("UTF-16 with a byte-order mark (either order) or without one", () => {
    const text = "text,label\nhello,1\n";
    const le = write("utf16le.csv", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]));
    throwsDatasetError(() => loadUserDataset({ train: le, ...csvColumns }), le, 1, "UTF-16 (little-endian", "must be UTF-8");
    const be = write("utf16be.csv", Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, "utf16le").swap16()]));
    throwsDatasetError(() => loadUserDataset({ train: be, ...csvColumns }), be, 1, "UTF-16 (big-endian", "must be UTF-8");
    const noBom = write("utf16-nobom.csv", Buffer.from(text, "utf16le"));
    throwsDatasetError(() => loadUserDataset({ train: noBom, ...csvColumns }), noBom, 1, "NUL byte", "must be UTF-8");
  });

  it("files that are missing, not gzip, or of an unknown format", () => {
    const missing = join(dir, "nope.csv");
    throwsDatasetError(() => loadUserDataset({ train: missing, ...csvColumns }), missing, undefined, "file not found");
    const fakeGz = write("fake.csv.gz", "text,label\na,1\n");
    throwsDatasetError(() => loadUserDataset({ train: fakeGz, ...csvColumns }), fakeGz, undefined, "not gzip-compressed");
    const odd = write("odd.txt", "text,label\na,1\n");
    throwsDatasetError(
      () => loadUserDataset({ train: odd, ...csvColumns }),
      odd,
      undefined,
      "cannot tell the format",
      "pass format",
    );
  });

  it("a train file too small to split off a dev set", () => {
    const file = write("one.csv", "text,label\nonly,1\n");
    throwsDatasetError(() => loadUserDataset({ train: file, ...csvColumns }), file, undefined, "too few to split off a dev set");
  });

  it("bad options are plain errors", () => {
    const file = write("opts.csv", "text,label\na,1\nb,0\n");
    assert.throws(() => loadUserDataset({ train: file, ...csvColumns, labels: [] }), /labels must not be empty/);
    assert.throws(() => loadUserDataset({ train: file, ...csvColumns, labels: ["a", "a"] }), /listed twice/);
    assert.throws(() => loadUserDataset({ train: file, ...csvColumns, devFraction: 1 }), /devFraction must be between 0 and 1/);
  });
});
