// No import cycles in src/: a cycle makes module evaluation order decide whether a class exists
// yet when another file uses it, and couples files that should stand alone. Reads the static
// import and export-from statements (relative ones, `import type` included) of every src/**/*.ts.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../paths.js";

const srcDir = join(repoRoot, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** `import … from "x"`, `export … from "x"` (over several lines too) and `import "x"`. */
const SPECIFIER = /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;

/** The src files a file imports; `./x.js` names ./x.ts (NodeNext resolution). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith(".")) continue;
    const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
    if (existsSync(target)) out.push(target);
  }
  return out;
}

/** One cycle per strongly connected component of more than one file (or a file importing itself). */
function findCycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  // Within a component every file reaches every other: walk back to the start by breadth first.
  return components.map((component) => {
    const members = new Set(component);
    const start = component[0]!;
    const previous = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      for (const w of graph.get(queue[i]!) ?? []) {
        if (w === start) {
          const path = [queue[i]!];
          while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
          return [...path, start];
        }
        if (members.has(w) && !previous.has(w)) {
          previous.set(w, queue[i]!);
          queue.push(w);
        }
      }
    }
    return component;
  });
}

/**
 * Type-only cycles outside src/models, known and left to their owners (issue 15): each is the
 * set of files of one cycle. Remove an entry once its cycle is gone; the test says when.
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [
  ["src/eval/report.ts", "src/eval/sweep.ts"],
  ["src/tensor/memory.ts", "src/tensor/tensor.ts"],
];

const filesKey = (files: readonly string[]): string => [...new Set(files)].sort().join(" ");

describe("source imports", () => {
  it("have no cycles (but the known ones)", (t) => {
    const graph = new Map(sourceFiles(srcDir).map((f) => [f, importsOf(f)] as const));
    assert.ok(graph.size > 50, `only ${graph.size} source files found under ${srcDir}`);
    const cycles = findCycles(graph).map((c) => c.map((f) => relative(repoRoot, f)));
    const known = new Set(KNOWN_CYCLES.map(filesKey));
    const found = new Set(cycles.map(filesKey));
    for (const c of cycles) if (known.has(filesKey(c))) t.diagnostic(`known import cycle: ${c.join(" -> ")}`);
    const fresh = cycles.filter((c) => !known.has(filesKey(c))).map((c) => c.join(" -> "));
    assert.deepEqual(fresh, [], `import cycles:\n${fresh.join("\n")}`);
    const gone = KNOWN_CYCLES.filter((c) => !found.has(filesKey(c))).map((c) => c.join(", "));
    assert.deepEqual(gone, [], `no longer cycles, remove from KNOWN_CYCLES:\n${gone.join("\n")}`);
  });
});
