// `sap bench finetune` end to end on a tiny configuration: the output's structure, positive finite
// rates, the same trainable-parameter count on both sides, --append and the human table; the
// Hugging Face side runs when a Python with torch + transformers + peft is there (SAP_PYTHON or
// /tmp/sap-venv), and must with SAP_REQUIRE_INTEROP=1. Speed itself is a benchmark's business, not a test's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { findHfPython } from "../../src/bench/finetune.js";
import { findTorches, newestFirst, pythonCandidates } from "../../src/bench/worker.js";
import { bf16Available } from "../../src/tensor/index.js";
import { repoRoot, sharedDir } from "../paths.js";

const cli = join(repoRoot, "dist", "src", "cli", "main.js");
const TINY = join(repoRoot, "models", "sap-bert-tiny");
const REQUIRE = process.env.SAP_REQUIRE_INTEROP === "1";
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sap(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    env: { ...process.env, SAP_SHARED_DIR: sharedDir },
    timeout: 600_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** sap-bert-tiny: k = 1 leaves one top layer, LoRA r 8 on its query and value, plus pooler and classifier. */
function expectedTrainable(): number {
  const c = JSON.parse(readFileSync(join(TINY, "config.json"), "utf8")) as { hidden_size: number; num_hidden_layers: number };
  const h = c.hidden_size;
  const top = c.num_hidden_layers - 1;
  return top * 2 * (8 * h + h * 8) + (h * h + h) + (2 * h + 2);
}

const tinyArgs = ["bench", "finetune", "--model", TINY, "--split", "1", "--rounds", "1", "--steps", "2", "--warmup", "1"];
const precisions = bf16Available() ? ["fp32", "bf16"] : ["fp32"];

function positiveRate(r: Record<string, unknown>, v: string): void {
  const x = r[`${v}_examples_per_s`];
  assert.ok(typeof x === "number" && Number.isFinite(x) && x > 0, `${v}_examples_per_s = ${String(x)}`);
  const rounds = r[`${v}_rounds`] as number[];
  assert.equal(rounds.length, 1, `${v}: one round`);
  const rss = r[`${v}_peak_rss_mb`];
  assert.ok(typeof rss === "number" && rss > 10, `${v}_peak_rss_mb = ${String(rss)}`);
  const share = r[`${v}_bottom_share`];
  assert.ok(typeof share === "number" && share > 0 && share < 1, `${v}_bottom_share = ${String(share)}`);
  assert.ok(Number.isFinite(r[`${v}_last_loss`]), `${v}: a finite loss`);
}

describe("sap bench finetune", () => {
  it("sap alone (--no-torch): one JSON line with positive rates, peak RSS and sap's trainable count", () => {
    const r = sap([...tinyArgs, "--precisions", precisions.join(","), "--no-torch", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(res.trainable_sap, expectedTrainable());
    assert.equal(res.hf, false);
    assert.equal(res.trainable_hf, null);
    assert.match(String(res.hf_skipped), /--no-torch/);
    assert.equal(res.split, 1);
    assert.equal(res.batch, 32);
    assert.equal(res.seq, 64);
    for (const p of precisions) positiveRate(res, `sap_${p}`);
    if (!bf16Available()) assert.equal(res.sap_bf16_examples_per_s, null);
    assert.equal(res.hf_fp32_examples_per_s, null);
    assert.equal(res.ratio_fp32, null);
    assert.match(r.stderr, /Hugging Face side skipped/);
  });

  it("against Hugging Face + PEFT: the same trainable count, positive rates and ratios, the table and --append", (t) => {
    const python = process.env.SAP_PYTHON ?? (existsSync("/tmp/sap-venv/bin/python") ? "/tmp/sap-venv/bin/python" : null);
    const found = python ? findHfPython(python) : { python: null, why: "no SAP_PYTHON and no /tmp/sap-venv" };
    if (!found.python) {
      const why = "why" in found ? found.why : "";
      if (REQUIRE) assert.fail(`SAP_REQUIRE_INTEROP=1 but ${why}`);
      t.skip(`Hugging Face side unavailable: ${why}`);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "sap-bench-ft-"));
    dirs.push(dir);
    const file = join(dir, "results", "bench-finetune.jsonl");
    const r = sap([...tinyArgs, "--precisions", precisions.join(","), "--python", found.python, "--append", file]);
    assert.equal(r.status, 0, r.stderr);
    // The human table on stdout; the JSON line in the file (appended: a second run adds a line).
    assert.match(r.stdout, /^variant +examples\/s +peak RSS MB/m);
    assert.match(r.stdout, /^sap fp32 +\d/m);
    assert.match(r.stdout, /^hf fp32 +\d/m);
    assert.match(r.stdout, /sap \/ Hugging Face: fp32 \d/);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    assert.equal(lines.length, 1);
    const res = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(res.hf, true);
    assert.equal(res.hf_python, found.python);
    assert.equal(res.torch_version, found.versions.torch);
    assert.match(String(res.transformers_version), /^\d/);
    assert.match(String(res.peft_version), /^\d/);
    assert.equal(res.trainable_sap, expectedTrainable());
    assert.equal(res.trainable_hf, res.trainable_sap, "PEFT must train what sap trains");
    for (const p of precisions) {
      positiveRate(res, `sap_${p}`);
      positiveRate(res, `hf_${p}`);
      const ratio = res[`ratio_${p}`] as number;
      assert.ok(Number.isFinite(ratio) && ratio > 0, `ratio_${p} = ${ratio}`);
    }
  });

  it("bad input is a usage error (exit 2) before any work; a missing model a runtime error (exit 1)", () => {
    const bad = sap(["bench", "finetune", "--precisions", "fp16", "--no-torch"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--precisions takes a list of fp32, bf16/);
    const rounds = sap(["bench", "finetune", "--rounds", "0"]);
    assert.equal(rounds.status, 2);
    const missing = sap(["bench", "finetune", "--model", join(repoRoot, "no-such-model"), "--no-torch"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no-such-model not found/);
    const split = sap(["bench", "finetune", "--model", TINY, "--split", "2", "--no-torch"]);
    assert.equal(split.status, 1);
    assert.match(split.stderr, /--split 2 leaves no top layer/);
    // A Python named on purpose that cannot run the Hugging Face side is an error, not a quiet skip.
    const py = sap([...tinyArgs, "--python", join(repoRoot, "no-such-python")]);
    assert.equal(py.status, 1);
    assert.match(py.stderr, /--python .*no-such-python: not installed/);
  });
});

describe("finding PyTorch builds", () => {
  it("orders versions newest first and lists each candidate once", () => {
    const v = newestFirst([{ version: "1.13.0a0" }, { version: "2.13.0+cpu" }, { version: "2.2.1" }]).map((x) => x.version);
    assert.deepEqual(v, ["2.13.0+cpu", "2.2.1", "1.13.0a0"]);
    const c = pythonCandidates({ SAP_PYTHON: "/usr/bin/python3", SAP_TORCH_PYTHON: "/x/python" });
    assert.equal(c[0], "/x/python");
    assert.equal(new Set(c).size, c.length);
    assert.ok(c.includes("/tmp/sap-venv/bin/python"));
  });

  it("reports each distinct torch once and says why every other candidate has none", () => {
    const { found, absent } = findTorches({ SAP_PYTHON: join(repoRoot, "no-such-python") });
    assert.equal(new Set(found.map((f) => f.location)).size, found.length);
    for (const f of found) assert.match(f.version, /^\d+\.\d+/);
    assert.ok(absent.some((a) => a.startsWith(join(repoRoot, "no-such-python")) && a.endsWith("not installed")));
  });
});
