// Parsing and sampling units: CSV edge cases, PTB trees, the PRNG and stratified sampling.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DatasetError,
  createRng,
  formatFromPath,
  parseCsvRows,
  parseSentimentTree,
  parseTsvRows,
  shuffleInPlace,
  stratifiedSample,
  unescapePtbToken,
} from "../../src/data/index.js";

describe("CSV rows", () => {
  it("quoted commas, doubled quotes, newlines, empty and trailing fields", () => {
    const rows = parseCsvRows('a,"b,c","d""e"\n"multi\r\nline",,x\r\n\n"",last,\n', "t.csv");
    assert.deepEqual(rows, [
      { line: 1, fields: ["a", "b,c", 'd"e'] },
      { line: 2, fields: ["multi\r\nline", "", "x"] },
      { line: 5, fields: ["", "last", ""] },
    ]);
  });
  it("a bare quote inside an unquoted field is literal; no final newline is fine", () => {
    assert.deepEqual(parseCsvRows('5" screen,ok', "t.csv"), [{ line: 1, fields: ['5" screen', "ok"] }]);
  });
  it("an unterminated quote names where it opened", () => {
    assert.throws(
      () => parseCsvRows('x,y\n1,"open\n\n', "t.csv"),
      (err: unknown) =>
        err instanceof DatasetError &&
        err.line === 2 &&
        err.message === "t.csv, line 2: unterminated quoted field (field 2): the quote opened here is never closed",
    );
  });
});

describe("TSV rows and formats", () => {
  it("CRLF stripped, blank lines skipped, quotes literal", () => {
    assert.deepEqual(parseTsvRows('a\t"b"\r\n\r\nc\td\r\n'), [
      { line: 1, fields: ["a", '"b"'] },
      { line: 3, fields: ["c", "d"] },
    ]);
  });
  it("format from the extension", () => {
    assert.deepEqual(["a.csv", "a.CSV.gz", "b.tsv", "b.tab", "c.jsonl.gz", "c.ndjson"].map(formatFromPath), [
      "csv",
      "csv",
      "tsv",
      "tsv",
      "jsonl",
      "jsonl",
    ]);
  });
});

describe("sentiment trees", () => {
  it("root label and unescaped leaves", () => {
    assert.deepEqual(parseSentimentTree("(3 (1 -LRB-) (2 (2 a\\/b) (3 -RRB-)))", "t.txt", 1), {
      label: 3,
      leaves: ["(", "a/b", ")"],
    });
    assert.equal(unescapePtbToken("\\*"), "*");
    assert.equal(unescapePtbToken("``"), "``");
  });
  it("malformed trees fail with the line", () => {
    for (const bad of ["(3 (2 a)", "(7 a)", "(2 a) (2 b)", "(2 )", "2 a"]) {
      assert.throws(() => parseSentimentTree(bad, "t.txt", 9), /^DatasetError: t\.txt, line 9: malformed tree: /, bad);
    }
  });
});

describe("seeded sampling", () => {
  it("the PRNG is deterministic and uniform enough", () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 10000 }, () => a());
    assert.deepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => b()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    assert.deepEqual(shuffleInPlace([1, 2, 3, 4, 5], createRng(1)).sort(), [1, 2, 3, 4, 5]);
  });
  it("stratified samples keep label shares and input order", () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ id: i, label: i % 10 < 7 ? 0 : i % 10 === 9 ? 2 : 1 }));
    const { chosen, rest } = stratifiedSample(items, 100, createRng(5));
    assert.equal(chosen.length, 100);
    assert.equal(rest.length, 900);
    assert.deepEqual(
      [0, 1, 2].map((l) => chosen.filter((x) => x.label === l).length),
      [70, 20, 10],
    );
    assert.deepEqual(
      chosen.map((x) => x.id),
      chosen.map((x) => x.id).sort((x, y) => x - y),
    );
    assert.deepEqual(
      [...chosen, ...rest].map((x) => x.id).sort((x, y) => x - y),
      items.map((x) => x.id),
    );
    assert.deepEqual(stratifiedSample(items, 100, createRng(5)).chosen, chosen);
  });
});
