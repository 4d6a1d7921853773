// Rooms: the native addon belongs to src/tensor. No file elsewhere in src/ may import the addon
// loader (src/tensor/native.ts) or load the addon itself; they use the named functions that
// src/tensor/index.ts exports (ops, nearestRows, engineInfo, setThreads, ...).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../paths.js";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

// Static imports and re-exports, dynamic import() and require() of a string literal.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["']([^"']+)["']/g;

/** Why `text` (the file at repo-relative path `file`) reaches into the addon, or null. */
function addonUse(file: string, text: string): string | null {
  if (file.startsWith("src/tensor/")) return null;
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1]!;
    if (spec.endsWith(".node") || spec.includes("sap_native")) return `loads the addon (${spec})`;
    if (!spec.startsWith(".")) continue;
    const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.(js|ts)$/, "");
    if (target === "src/tensor/native") return `imports ${spec}`;
  }
  return null;
}

describe("rooms", () => {
  it("the check itself catches each way in and lets the public surface through", () => {
    assert.ok(addonUse("src/attacks/x.ts", 'import { native } from "../tensor/native.js";'));
    assert.ok(addonUse("src/a/b/x.ts", "import type { NativeAddon } from '../../tensor/native.js';"));
    assert.ok(addonUse("src/x.ts", 'export { native } from "./tensor/native";'));
    assert.ok(addonUse("src/bench/x.ts", 'const m = await import("../tensor/native.js");'));
    assert.ok(addonUse("src/bench/x.ts", 'require("../../build/Release/sap_native.node")'));
    assert.equal(addonUse("src/attacks/x.ts", 'import { nearestRows } from "../tensor/index.js";'), null);
    assert.equal(addonUse("src/attacks/x.ts", 'import { x } from "./native.js";'), null);
    assert.equal(addonUse("src/tensor/ops.ts", 'import { native } from "./native.js";'), null);
  });

  it("no file outside src/tensor imports the addon loader or loads the addon", () => {
    const src = join(repoRoot, "src");
    const files = sourceFiles(src);
    assert.ok(files.length > 50, `only ${files.length} source files found under ${src}`);
    const offenders = files
      .map((f) => {
        const rel = relative(repoRoot, f).split(sep).join("/");
        const why = addonUse(rel, readFileSync(f, "utf8"));
        return why ? `${rel}: ${why}` : null;
      })
      .filter((x) => x !== null);
    assert.deepEqual(
      offenders,
      [],
      `outside src/tensor, use the named functions of src/tensor/index.ts:\n${offenders.join("\n")}`,
    );
  });
});
