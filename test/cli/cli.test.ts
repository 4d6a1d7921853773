// The CLI's conventions: --help per command (options, defaults, an example), --version, exit
// codes (2 usage, 1 runtime), our messages for bad values, results on stdout and the rest on
// stderr, no escape codes off a terminal or with NO_COLOR; options generated from the registries.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { sapCacheDir } from "../../src/cli/cache.js";
import { COMMANDS } from "../../src/cli/main.js";
import { commandHelp } from "../../src/cli/options.js";
import { registerPeft } from "../../src/peft/index.js";
import { registerPrivatizer } from "../../src/privacy/index.js";
import { parseServerConfig } from "../../src/server/config.js";
import { dataPath, fixture, repoRoot } from "../paths.js";

const cli = join(repoRoot, "dist", "src", "cli", "main.js");
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sap(args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("sap CLI conventions", () => {
  it("--version prints the package version; bare sap is a usage error", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    const r = sap(["--version"]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), pkg.version);
    const bare = sap([]);
    assert.equal(bare.status, 2);
    assert.equal(bare.stdout, "", "usage goes to stderr when it is an error");
    assert.match(bare.stderr, /Commands:/);
  });

  it("every command answers --help with its usage, options with defaults, and an example", () => {
    for (const c of COMMANDS) {
      const r = sap([c.name, "--help"]);
      assert.equal(r.status, 0, c.name);
      assert.match(r.stdout, new RegExp(`^usage: sap ${c.name}`), c.name);
      assert.match(r.stdout, /Examples:\n {2}\S/, `${c.name} has an example`);
      assert.match(r.stdout, /--help/, c.name);
    }
    assert.match(sap(["finetune", "--help"]).stdout, /--epochs N\s+training epochs \(default 3\)/);
    assert.match(sap(["serve", "--help"]).stdout, /dataDir .*\n[\s\S]*models /, "serve documents its config");
  });

  it("usage errors exit 2 with our message (not Node's), runtime errors exit 1", () => {
    const base = ["finetune", "--model", fixture("tiny-bert"), "--task", "sst2", "--out", join(tmpdir(), "never")];
    const eta = sap([...base, "--privatizer", "dchi", "--eta", "-1"]);
    assert.equal(eta.status, 2);
    assert.match(eta.stderr, /privatizer dchi: eta must be a number > 0, got -1/);
    assert.doesNotMatch(eta.stderr, /ERR_PARSE_ARGS|ambiguous/);
    const unknownFlag = sap([...base, "--bogus"]);
    assert.equal(unknownFlag.status, 2);
    assert.match(unknownFlag.stderr, /unknown option --bogus/);
    const wrongMech = sap([...base, "--privatizer", "dchi", "--eta", "5", "--sigma", "1"]);
    assert.equal(wrongMech.status, 2);
    assert.match(wrongMech.stderr, /--sigma is a parameter of privatizer gaussian, not of --privatizer dchi/);
    const badInt = sap([...base, "--epochs", "2.5"]);
    assert.equal(badInt.status, 2);
    assert.match(badInt.stderr, /--epochs must be an integer >= 1, got 2.5/);
    assert.equal(sap(["nope"]).status, 2);
    const runtime = sap(["model", "verify", join(tmpdir(), "no-such-model-dir")]);
    assert.equal(runtime.status, 1);
  });

  it("no escape codes off a terminal or with NO_COLOR", () => {
    for (const env of [{}, { NO_COLOR: "1" }] as Array<Record<string, string>>) {
      const r = sap(["finetune", "--bogus"], env);
      assert.equal(r.status, 2);
      assert.ok(!r.stderr.includes("\u001b["), "no escape sequence");
    }
  });

  it("keys create prints only the key on stdout; the note goes to stderr", () => {
    const dir = mkdtempSync(join(tmpdir(), "sap-cli-"));
    dirs.push(dir);
    const config = join(dir, "serve.json");
    writeFileSync(
      config,
      JSON.stringify({ dataDir: join(dir, "data"), models: { tiny: { path: fixture("tiny-bert"), splits: [1] } } }),
    );
    const r = sap(["keys", "create", "--tenant", "acme", "--config", config]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n").filter(Boolean);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\S{20,}$/);
    assert.match(r.stderr, /shown once/);
  });

  it("the documented example service config parses", () => {
    const file = join(repoRoot, "docs", "examples", "serve.json");
    const cfg = parseServerConfig(JSON.parse(readFileSync(file, "utf8")), join(repoRoot, "docs", "examples"), file);
    assert.ok(cfg.models.size >= 1);
  });
});

describe("options generated from the registries", () => {
  it("a newly registered mechanism and method appear in --help and parse, with no CLI edit", () => {
    registerPrivatizer({
      name: "test-mech",
      summary: "test only",
      params: [{ name: "strength", type: "number", min: 0, budget: true, flag: "test-strength", help: "how strong" }],
      create: () => {
        throw new Error("not used");
      },
    });
    registerPeft({
      name: "test-method",
      summary: "test only",
      params: [{ name: "width", type: "int", min: 1, default: 3, help: "how wide" }],
      apply: () => {
        throw new Error("not used");
      },
    });
    const finetune = COMMANDS.find((c) => c.name === "finetune")!;
    const help = commandHelp(finetune);
    assert.match(help, /--privatizer NAME .*test-mech/);
    assert.match(help, /--test-strength X\s+how strong \[privatizer test-mech\]/);
    assert.match(help, /--peft NAME .*test-method/);
    assert.match(help, /--width N\s+how wide \[method test-method; default 3\]/);
    const evalHelp = commandHelp(COMMANDS.find((c) => c.name === "eval")!);
    assert.match(evalHelp, /test-mech: test only/);
  });
});

const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), "sap-cli-"));
  dirs.push(d);
  return d;
};

/** A tiny user data set (48 rows) and a public text for the attackers, so no shared data is read. */
function userData(): { csv: string; publicText: string } {
  const dir = tmp();
  const csv = join(dir, "reviews.csv");
  const rows = Array.from({ length: 48 }, (_, i) => (i % 2 ? `a fine warm film ${i},pos` : `a dull cold film ${i},neg`));
  writeFileSync(csv, ["text,label", ...rows].join("\n") + "\n");
  const publicText = join(dir, "public.txt");
  writeFileSync(publicText, "the film was fine .\nit was a dull day .\n");
  return { csv, publicText };
}

describe("refused before any work, with a message naming the flag", () => {
  const { csv, publicText } = userData();
  const data = ["--train", csv, "--text-column", "text", "--label-column", "label"];
  const ft = (out: string, extra: string[] = []): string[] => [
    "finetune",
    "--model",
    fixture("tiny-bert"),
    ...data,
    "--split",
    "1",
    "--epochs",
    "1",
    "--batch-size",
    "16",
    "--max-seq-len",
    "16",
    "--quiet",
    "--out",
    out,
    ...extra,
  ];

  it("finetune: a used --out needs --resume (same settings) or --overwrite", () => {
    const out = tmp();
    writeFileSync(join(out, "mine.txt"), "keep me");
    const used = sap(ft(out));
    assert.equal(used.status, 2, used.stderr);
    assert.match(used.stderr, /is not empty: .*--resume.*--overwrite/);
    assert.deepEqual(readdirSync(out), ["mine.txt"]);
    const run = tmp();
    assert.equal(sap(ft(run)).status, 0);
    const report = readFileSync(join(run, "report.md"), "utf8");
    const other = sap(ft(run, ["--resume", "--lr", "0.001"]));
    assert.equal(other.status, 2, other.stderr);
    assert.match(other.stderr, /lr: 0\.0005 there, 0\.001 now/);
    assert.equal(readFileSync(join(run, "report.md"), "utf8"), report, "the report still describes the run that happened");
    assert.equal(sap(ft(run, ["--resume"])).status, 0, "the same settings resume");
    const over = sap(ft(run, ["--overwrite", "--lr", "0.001"]));
    assert.equal(over.status, 0, over.stderr);
    assert.match(readFileSync(join(run, "report.md"), "utf8"), /lr 0\.001\b/);
  });

  it("eval privacy: the grid, PEFT method, attacks and public text are checked before anything is written", () => {
    const base = ["eval", "privacy", "--model", fixture("tiny-bert"), ...data, "--public", publicText, "--split", "0"];
    const cases: Array<[string[], RegExp]> = [
      [["--privatizers", "dchi", "--etas", "-1"], /privatizer dchi: eta must be a number > 0, got -1/],
      [["--privatizers", "none", "--peft", "nope"], /unknown PEFT method|peft.*nope|nope/i],
      [["--privatizers", "none", "--attacks", "aia-rating"], /needs the "rating" field/],
      [["--privatizers", "none", "--attack-param", "nn-l2.k=1"], /attack nn-l2: unknown parameter "k"/],
    ];
    for (const [extra, message] of cases) {
      const out = join(tmp(), "out");
      const r = sap([...base, ...extra, "--out", out]);
      assert.equal(r.status, 2, `${extra.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!existsSync(out), `${extra.join(" ")}: nothing written`);
    }
    // User data without --public needs the Brown corpus from the data dir: a message, not ENOENT.
    const empty = tmp();
    const noBrown = sap([
      "eval",
      "privacy",
      "--model",
      fixture("tiny-bert"),
      ...data,
      "--data-dir",
      empty,
      "--out",
      join(empty, "out"),
    ]);
    assert.equal(noBrown.status, 2, noBrown.stderr);
    assert.match(noBrown.stderr, /public text .* does not exist; give --public FILE/);
    assert.doesNotMatch(noBrown.stderr, /ENOENT/);
  });

  it("eval privacy: a different sweep in --out is refused; --overwrite replaces it", () => {
    const out = tmp();
    const sweep = (extra: string[]): ReturnType<typeof sap> =>
      sap([
        "eval",
        "privacy",
        "--model",
        fixture("tiny-bert"),
        ...data,
        "--public",
        publicText,
        "--privatizers",
        "none",
        "--attacks",
        "nn-l2",
        "--canaries",
        "0",
        "--attack-only",
        "--max-seq-len",
        "16",
        "--out",
        out,
        ...extra,
      ]);
    assert.equal(sweep(["--split", "0"]).status, 0);
    const other = sweep(["--split", "1"]);
    assert.equal(other.status, 2, other.stderr);
    assert.match(other.stderr, /split: 0 there, 1 now/);
    assert.equal(sweep(["--split", "1", "--overwrite"]).status, 0);
    assert.match(readFileSync(join(out, "results.jsonl"), "utf8"), /"split":1/);
    assert.doesNotMatch(readFileSync(join(out, "results.jsonl"), "utf8"), /"split":0/);
  });

  it("eval privacy --task imdb accepts --attacks aia-rating (its rows carry the rating)", () => {
    const out = join(tmp(), "out");
    const r = sap([
      "eval",
      "privacy",
      "--model",
      fixture("tiny-bert"),
      "--task",
      "imdb",
      "--data-dir",
      dataPath(),
      "--max-train",
      "60",
      "--max-eval",
      "60",
      "--public",
      publicText,
      "--privatizers",
      "none",
      "--attacks",
      "aia-rating",
      "--attack-only",
      "--canaries",
      "0",
      "--split",
      "0",
      "--max-seq-len",
      "16",
      "--json",
      "--out",
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { results: Array<{ attack: string; attack_success: number }> };
    assert.equal(res.results[0]!.attack, "aia-rating");
    assert.ok(res.results[0]!.attack_success >= 0 && res.results[0]!.attack_success <= 1);
  });
});

describe("the client's cache folder", () => {
  it("is $SAP_CACHE_DIR, else the platform's cache folder, never the working directory", () => {
    assert.equal(sapCacheDir({ SAP_CACHE_DIR: "/c/sap" }, "linux", "/home/u"), "/c/sap");
    assert.equal(sapCacheDir({}, "linux", "/home/u"), "/home/u/.cache/sap");
    assert.equal(sapCacheDir({ XDG_CACHE_HOME: "/xdg" }, "linux", "/home/u"), "/xdg/sap");
    assert.equal(sapCacheDir({ XDG_CACHE_HOME: "rel" }, "linux", "/home/u"), "/home/u/.cache/sap", "relative XDG ignored");
    assert.equal(sapCacheDir({}, "darwin", "/Users/u"), "/Users/u/Library/Caches/sap");
    assert.equal(
      sapCacheDir({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "win32", "C:\\Users\\u"),
      "C:\\Users\\u\\AppData\\Local\\sap\\Cache",
    );
    assert.equal(sapCacheDir({ SAP_CACHE_DIR: "D:\\cache" }, "win32", "C:\\Users\\u"), "D:\\cache");
    const help = sap(["client", "--help"], { SAP_CACHE_DIR: "/tmp/sap-cache-test" }).stdout;
    assert.match(help, /--cache DIR .*\(default \/tmp\/sap-cache-test\/bottoms\)/);
    assert.doesNotMatch(help, /default \.sap/);
  });
});
