// The house rules of docs/architecture.md, checked on the import graph of src/: the customer and
// the vendor meet only in src/wire; attacks, server and client never reach into src/train; only
// src/tensor loads the native addon; src/wire depends on no party; and there are no import cycles.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "./paths.js";

const srcDir = join(repoRoot, "src");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports (type-only ones and re-exports included) of every file, as src-relative paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g;
  for (const file of tsFiles(srcDir)) {
    const text = readFileSync(file, "utf8");
    const deps: string[] = [];
    for (const m of text.matchAll(re)) {
      const spec = (m[1] ?? m[2])!.replace(/\.js$/, ".ts");
      deps.push(relative(srcDir, resolve(dirname(file), spec)));
    }
    graph.set(relative(srcDir, file), deps);
  }
  return graph;
}

const graph = importGraph();
const room = (f: string): string => f.split("/")[0]!;

function violations(from: (f: string) => boolean, to: (d: string) => boolean): string[] {
  return [...graph].flatMap(([f, deps]) => (from(f) ? deps.filter(to).map((d) => `${f} -> ${d}`) : []));
}

describe("architecture", () => {
  it("finds the source files and their imports", () => {
    assert.ok(graph.size > 50);
    assert.ok(graph.get("split/customer.ts")!.includes("wire/index.ts"));
  });

  it("the customer's code never imports the vendor's, nor the vendor's the customer's", () => {
    const customer = (f: string): boolean => room(f) === "client" || f === "split/customer.ts";
    const vendor = (f: string): boolean => room(f) === "server" || room(f) === "worker" || f === "split/vendor.ts";
    assert.deepEqual(violations(customer, vendor), []);
    assert.deepEqual(violations(vendor, customer), []);
  });

  it("attacks, server and client do not import src/train", () => {
    assert.deepEqual(
      violations(
        (f) => ["attacks", "server", "client", "worker", "split", "wire"].includes(room(f)),
        (d) => room(d) === "train",
      ),
      [],
    );
  });

  it("src/wire depends on no party and no training code", () => {
    assert.deepEqual(
      violations(
        (f) => room(f) === "wire",
        (d) => !["wire", "tensor"].includes(room(d)),
      ),
      [],
    );
  });

  it("only src/tensor loads the native addon; only src/cli imports src/cli", () => {
    assert.deepEqual(
      violations(
        (f) => room(f) !== "tensor",
        (d) => d === "tensor/native.ts",
      ),
      [],
    );
    assert.deepEqual(
      violations(
        (f) => room(f) !== "cli",
        (d) => room(d) === "cli",
      ),
      [],
    );
  });

  it("no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, "open");
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (!graph.has(d)) continue;
        if (state.get(d) === "open") cycles.push([...stack.slice(stack.indexOf(d)), d].join(" -> "));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, "done");
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    assert.deepEqual(cycles, []);
  });
});
