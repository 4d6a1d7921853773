// The CLI's conventions: --help per command (options, defaults, an example), --version, exit
// codes (2 usage, 1 runtime), our messages for bad values, results on stdout and the rest on
// stderr, no escape codes off a terminal or with NO_COLOR; options generated from the registries.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { COMMANDS } from "../../src/cli/main.js";
import { commandHelp } from "../../src/cli/options.js";
import { registerPeft } from "../../src/peft/index.js";
import { registerPrivatizer } from "../../src/privacy/index.js";
import { parseServerConfig } from "../../src/server/config.js";
import { fixture, repoRoot } from "../paths.js";

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
