// What the side-by-side benchmarks share: a child process spoken to in JSON lines (one request,
// one reply), the Pythons that may hold a PyTorch to compare against, and the scripts in bench/.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../data/tasks.js";

const here = dirname(fileURLToPath(import.meta.url));

/** A path inside the sap checkout (the folder with its package.json). */
export function sapPath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}

/** A file of sap's bench/ folder (next to src/ in a checkout, next to dist/ once built). */
export function benchScript(name: string): string {
  for (const up of [
    ["..", ".."],
    ["..", "..", ".."],
  ]) {
    const p = join(here, ...up, "bench", name);
    if (existsSync(p)) return p;
  }
  throw new Error(`bench/${name} not found next to sap's sources`);
}

/** A built file of src/bench (the benchmarks' own child processes). */
export function builtBenchFile(name: string): string {
  return join(here, name);
}

/** The Python executables worth asking, in order, without duplicates. */
export function pythonCandidates(env: Record<string, string | undefined> = process.env): string[] {
  const out = [
    env.SAP_TORCH_PYTHON,
    env.SAP_PYTHON,
    // Where .ci/interop-venv.sh makes the venv with the pinned torch, transformers and peft.
    "/tmp/sap-venv/bin/python",
    // Debian's python3-torch lives here.
    "/usr/bin/python3",
    // An activated venv, or whatever else is first on PATH.
    "python3",
  ].filter((p): p is string => !!p);
  return [...new Set(out)];
}

export interface FoundTorch {
  python: string;
  version: string;
  /** Where that torch is installed: two Pythons that share it are one torch. */
  location: string;
}

/**
 * Every distinct PyTorch the candidates import (each once, first finder wins), and a line for each
 * candidate that has none.
 */
export function findTorches(env: Record<string, string | undefined> = process.env): { found: FoundTorch[]; absent: string[] } {
  const found: FoundTorch[] = [];
  const absent: string[] = [];
  for (const python of pythonCandidates(env)) {
    if (python.includes("/") && !existsSync(python)) {
      absent.push(`${python}: not installed`);
      continue;
    }
    const r = spawnSync(python, ["-c", "import torch; print(torch.__version__); print(torch.__file__)"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.status !== 0) {
      absent.push(`${python}: ${r.error ? "cannot run" : "no torch"}`);
      continue;
    }
    const [version = "?", location = python] = r.stdout.trim().split("\n");
    if (!found.some((f) => f.location === location)) found.push({ python, version, location });
  }
  return { found, absent };
}

/** Orders by version, newest first ("2.13.0+cpu" before "1.13.0a0"). */
export function newestFirst<T extends { version: string }>(xs: T[]): T[] {
  const key = (v: string): number[] => (v.match(/\d+/g) ?? []).slice(0, 3).map(Number);
  return [...xs].sort((a, b) => {
    const x = key(a.version),
      y = key(b.version);
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
    return 0;
  });
}

/** A child process that answers each JSON line on its stdin with one JSON line on its stdout. */
export class LineWorker {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;
  private stderrTail = "";
  private exited: string | null = null;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    env: Record<string, string | undefined>,
    opts: { echoStderr?: boolean } = {},
  ) {
    this.proc = spawn(command, args, { env: { ...process.env, ...env } });
    this.proc.stderr.on("data", (d: Buffer) => {
      if (opts.echoStderr) process.stderr.write(d);
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    this.proc.on("exit", (code, signal) => {
      this.exited = signal ? `signal ${signal}` : `exit code ${code}`;
    });
    this.proc.on("error", (e) => {
      this.exited = e.message;
    });
    // A child that died mid-write: the read below reports it, with its stderr.
    this.proc.stdin.on("error", () => {});
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  async request<T>(req: object): Promise<T> {
    if (this.exited === null) this.proc.stdin.write(JSON.stringify(req) + "\n");
    const next = await this.lines.next();
    if (next.done) {
      const tail = this.stderrTail.trim().split("\n").slice(-5).join("\n");
      throw new Error(`${this.label} exited early (${this.exited ?? "stdout closed"})${tail ? `:\n${tail}` : ""}`);
    }
    const reply = JSON.parse(next.value) as T & { error?: string };
    if (typeof reply.error === "string") throw new Error(`${this.label}: ${reply.error}`);
    return reply;
  }

  close(): void {
    this.proc.stdin.end();
  }
}
