// Built-in tasks against the shared data: row counts and label balance from shared/data/README.md
// (cross-checked with awk), exact first rows, PTB unescaping, seeded subsets and option checks.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import {
  defaultDataDir,
  describeDataset,
  loadTask,
  summarizeDataset,
  taskNames,
  type Dataset,
  type Example,
} from "../../src/data/index.js";
import { dataPath, repoRoot, sharedDir } from "../paths.js";

const dataDir = dataPath();
const cache = new Map<string, Dataset>();
function task(name: string): Dataset {
  let ds = cache.get(name);
  if (!ds) cache.set(name, (ds = loadTask(name, { dataDir })));
  return ds;
}

/** Per split: examples per label, in label order. */
const expected: Record<string, { labels: string[]; pairs: boolean; train: number[]; dev: number[]; test?: number[] }> = {
  sst2: { labels: ["negative", "positive"], pairs: false, train: [29780, 37569], dev: [428, 444], test: [917, 904] },
  imdb: { labels: ["negative", "positive"], pairs: false, train: [12500, 12500], dev: [12500, 12500] },
  cola: { labels: ["unacceptable", "acceptable"], pairs: false, train: [2528, 6023], dev: [322, 721] },
  mrpc: { labels: ["not_equivalent", "equivalent"], pairs: true, train: [1194, 2474], dev: [129, 279] },
  rte: { labels: ["entailment", "not_entailment"], pairs: true, train: [1249, 1241], dev: [146, 131] },
  sst5: {
    labels: ["very negative", "negative", "neutral", "positive", "very positive"],
    pairs: false,
    train: [1092, 2218, 1624, 2322, 1288],
    dev: [139, 289, 229, 279, 165],
    test: [279, 633, 389, 510, 399],
  },
};

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe("built-in tasks: counts and labels", () => {
  it("taskNames lists every task", () => {
    assert.deepEqual([...taskNames].sort(), Object.keys(expected).sort());
  });

  for (const [name, want] of Object.entries(expected)) {
    it(`${name}: ${sum(want.train)} / ${sum(want.dev)}${want.test ? ` / ${sum(want.test)}` : ""} with the README's label balance`, () => {
      const ds = task(name);
      assert.equal(ds.name, name);
      assert.deepEqual(ds.labels, want.labels);
      const summary = summarizeDataset(ds);
      assert.deepEqual(summary.splits.train.labelCounts, want.train);
      assert.deepEqual(summary.splits.dev.labelCounts, want.dev);
      assert.deepEqual(summary.splits.test?.labelCounts, want.test);
      for (const split of [ds.train, ds.dev, ds.test ?? []]) {
        for (const ex of split) {
          assert.ok(ex.text.length > 0 && ex.text === ex.text.trim());
          assert.equal(ex.textPair !== undefined, want.pairs);
          assert.ok(Number.isInteger(ex.label) && ex.label >= 0 && ex.label < want.labels.length);
        }
      }
      assert.ok(ds.source.includes(dataDir), "source names the files");
    });
  }

  it("README totals", () => {
    const counts = Object.fromEntries(
      taskNames.map((n) => [n, [task(n).train.length, task(n).dev.length, task(n).test?.length]]),
    );
    assert.deepEqual(counts, {
      sst2: [67349, 872, 1821],
      imdb: [25000, 25000, undefined],
      cola: [8551, 1043, undefined],
      mrpc: [3668, 408, undefined],
      rte: [2490, 277, undefined],
      sst5: [8544, 1101, 2210],
    });
  });
});

describe("built-in tasks: exact rows", () => {
  it("sst2", () => {
    const ds = task("sst2");
    assert.deepEqual(ds.train[0], { text: "hide new secretions from the parental units", label: 0 });
    assert.deepEqual(ds.dev[0], { text: "it 's a charming and often affecting journey .", label: 1 });
    // test-labeled.tsv has CRLF line ends: no "\r" may survive.
    assert.deepEqual(ds.test![0], { text: "uneasy mishmash of styles and genres .", label: 0 });
    assert.ok(ds.test!.every((e) => !e.text.includes("\r")));
  });

  it("imdb keeps the rating and drops <br /> line breaks", () => {
    const ds = task("imdb");
    const first = ds.train[0]!;
    assert.ok(first.text.startsWith("Bromwell High is a cartoon comedy. It ran at the same time"));
    assert.deepEqual([first.label, first.meta], [1, { rating: 9 }]);
    assert.ok(ds.train[3]!.text.includes("cluding the story itself? This film was a gra"));
    assert.ok(ds.train[3]!.text.includes('ave to go to the story." Alas no one listene'));
    assert.ok(ds.train.every((e) => !/<br/i.test(e.text)) && ds.dev.every((e) => !/<br/i.test(e.text)));
    // The rating is the private attribute: finer than the label and consistent with it.
    for (const e of ds.train) assert.equal(e.label, (e.meta!.rating as number) >= 7 ? 1 : 0);
  });

  it("cola: header-less columns, source kept in meta", () => {
    const ds = task("cola");
    assert.deepEqual(ds.train[0], {
      text: "Our friends won't buy this analysis, let alone the next one we propose.",
      label: 1,
      meta: { source: "gj04" },
    });
    assert.deepEqual(
      ds.train.find((e) => e.label === 0),
      { text: "They drank the pub.", label: 0, meta: { source: "gj04" } },
    );
    assert.equal(ds.dev.at(-1)!.text.endsWith("."), true, "the last dev line has no newline and still loads");
  });

  it("mrpc: pairs, BOM in dev.tsv stripped", () => {
    const ds = task("mrpc");
    assert.deepEqual(ds.train[0], {
      text: 'Amrozi accused his brother , whom he called " the witness " , of deliberately distorting his evidence .',
      textPair: 'Referring to him as only " the witness " , Amrozi accused his brother of deliberately distorting his evidence .',
      label: 1,
    });
    assert.deepEqual(ds.dev[0], {
      text: "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .",
      textPair: '" The foodservice pie business does not fit our long-term growth strategy .',
      label: 1,
    });
  });

  it("rte: label names map to 0/1", () => {
    const ds = task("rte");
    assert.deepEqual(ds.train[0], {
      text: "No Weapons of Mass Destruction Found in Iraq Yet.",
      textPair: "Weapons of Mass Destruction Found in Iraq.",
      label: 1,
    });
  });

  it("sst5: root label, leaves joined, PTB escapes undone", () => {
    const ds = task("sst5");
    assert.deepEqual(ds.train[0], {
      text:
        "The Rock is destined to be the 21st Century 's new `` Conan '' and that he 's going to make a splash even greater than " +
        "Arnold Schwarzenegger , Jean-Claud Van Damme or Steven Segal .",
      label: 3,
    });
    assert.deepEqual(ds.dev[7], {
      text:
        "Dazzles with its fully-written characters , its determined stylishness ( which always relates to characters and story ) " +
        "and Johnny Dankworth 's best soundtrack in years .",
      label: 4,
    });
    const all = [...ds.train, ...ds.dev, ...ds.test!];
    assert.ok(all.every((e) => !/-LRB-|-RRB-|\\\//.test(e.text)));
    assert.ok(all.some((e) => e.text.includes("writer/director")));
    // A leaf with a no-break space ("8 1/2") stays one token of the tree.
    assert.ok(ds.train.some((e) => e.text.includes("8\u00a01/2")));
  });

  it("describeDataset reports counts and shares", () => {
    const text = describeDataset(task("sst2"));
    assert.match(text, /^sst2: 2 labels \(negative, positive\)/);
    assert.match(text, /train\s+67,349: negative 29,780 \(44\.2%\), positive 37,569 \(55\.8%\)/);
    assert.match(text, /test\s+1,821: negative 917/);
    assert.match(describeDataset(task("rte")), /sentence pairs/);
  });
});

describe("built-in tasks: seeded subsets", () => {
  it("the same seed gives the same subset; another seed another", () => {
    const a = loadTask("sst2", { dataDir, maxTrain: 1000, maxEval: 100, seed: 7 });
    const b = loadTask("sst2", { dataDir, maxTrain: 1000, maxEval: 100, seed: 7 });
    const c = loadTask("sst2", { dataDir, maxTrain: 1000, maxEval: 100, seed: 8 });
    assert.deepEqual(a.train, b.train);
    assert.deepEqual(a.dev, b.dev);
    assert.deepEqual(a.test, b.test);
    assert.notDeepEqual(a.train, c.train);
    assert.notDeepEqual(a.dev, c.dev);
    assert.deepEqual([a.train.length, a.dev.length, a.test!.length], [1000, 100, 100]);
  });

  it("keeps the natural label balance; every example comes from the full split", () => {
    const full = task("sst2");
    const sub = loadTask("sst2", { dataDir, maxTrain: 1000, maxEval: 100, seed: 3 });
    // 1000 · 37,569/67,349 = 557.8 positives -> 558 by largest remainder.
    assert.deepEqual(summarizeDataset(sub).splits.train.labelCounts, [442, 558]);
    assert.deepEqual(summarizeDataset(sub).splits.dev.labelCounts, [49, 51]);
    const key = (e: Example): string => `${e.label}\t${e.text}`;
    const fullKeys = new Set(full.train.map(key));
    assert.ok(sub.train.every((e) => fullKeys.has(key(e))));
  });

  it("dev draws do not depend on maxTrain", () => {
    const a = loadTask("rte", { dataDir, maxEval: 50, seed: 5 });
    const b = loadTask("rte", { dataDir, maxTrain: 100, maxEval: 50, seed: 5 });
    assert.deepEqual(a.dev, b.dev);
    assert.equal(a.train.length, 2490);
  });

  it("caps above the size keep everything", () => {
    const ds = loadTask("mrpc", { dataDir, maxTrain: 10_000, maxEval: 10_000 });
    assert.deepEqual([ds.train.length, ds.dev.length], [3668, 408]);
  });
});

describe("built-in tasks: options", () => {
  it("rejects an unknown task, naming the tasks", () => {
    assert.throws(() => loadTask("sst3", { dataDir }), /unknown task "sst3"; the tasks are: sst2, imdb, cola, mrpc, rte, sst5/);
  });
  it("rejects bad subset sizes and seeds", () => {
    assert.throws(() => loadTask("rte", { dataDir, maxTrain: 0 }), /maxTrain must be a positive integer/);
    assert.throws(() => loadTask("rte", { dataDir, maxEval: 2.5 }), /maxEval must be a positive integer/);
    assert.throws(() => loadTask("rte", { dataDir, seed: 0.5 }), /seed must be an integer/);
  });
  it("a data dir without datasets/ says so and names the option", () => {
    assert.throws(
      () => loadTask("rte", { dataDir: "/nonexistent/shared/data" }),
      /no datasets\/ folder in the data dir \/nonexistent\/shared\/data; pass dataDir \(CLI: --data-dir\)/,
    );
  });
});

describe("the default data folder", () => {
  it("is $SAP_SHARED_DIR/data, else shared/data next to the package, whatever the working directory", () => {
    assert.equal(defaultDataDir({ SAP_SHARED_DIR: "/somewhere/shared" }), resolve("/somewhere/shared/data"));
    const cwd = process.cwd();
    const saved = process.env.SAP_SHARED_DIR;
    try {
      process.chdir(tmpdir());
      assert.equal(defaultDataDir({}), resolve(repoRoot, "..", "shared", "data"));
      // loadTask without a dataDir reads the environment at the call, not the working directory.
      process.env.SAP_SHARED_DIR = sharedDir;
      assert.equal(loadTask("rte", { maxTrain: 4, maxEval: 4 }).train.length, 4);
      process.env.SAP_SHARED_DIR = mkdtempSync(join(tmpdir(), "sap-no-shared-"));
      assert.throws(() => loadTask("rte"), /no datasets\/ folder in the data dir .*SAP_SHARED_DIR/);
    } finally {
      process.chdir(cwd);
      if (saved === undefined) delete process.env.SAP_SHARED_DIR;
      else process.env.SAP_SHARED_DIR = saved;
    }
  });
});
