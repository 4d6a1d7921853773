// The model catalogue: which base models and split points the vendor offers, and the "bottom"
// bundle a customer downloads for one (config + embeddings + layers 0..k-1 + tokenizer files).
// The top (layers k..L-1, pooler, head) is never written into a bundle.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { loadClassifier, readConfig } from "../models/checkpoint.js";
import { bottomParams } from "../peft/index.js";
import { writeSafetensors } from "../tensor/index.js";
import type { BottomFile, BottomManifest } from "../wire/index.js";
import type { CatalogueEntry } from "./config.js";

/** Tokenizer files copied into a bundle when the base model has them. */
const TOKENIZER_FILES = [
  "vocab.txt",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.json",
  "merges.txt",
];

export function describeModel(name: string, e: CatalogueEntry): Record<string, unknown> {
  const c = readConfig(e.path);
  return { name, modelType: c.modelType, numLayers: c.numLayers, hiddenSize: c.hiddenSize, splits: e.splits };
}

/** Builds (once, atomically) and returns the bottom bundle of model `name` cut after layer k. */
export function bottomBundle(
  cacheDir: string,
  name: string,
  e: CatalogueEntry,
  split: number,
): { dir: string; manifest: BottomManifest } {
  const dir = join(cacheDir, name, `k${split}`);
  const manifestPath = join(dir, "manifest.json");
  if (existsSync(manifestPath)) return { dir, manifest: JSON.parse(readFileSync(manifestPath, "utf8")) as BottomManifest };
  const { model, config } = loadClassifier(e.path);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  const params = bottomParams(model, split);
  writeSafetensors(
    join(tmp, "model.safetensors"),
    params.map(([n, t]) => [n, { shape: t.shape, data: t.data }]),
    { metadata: { format: "pt", sap_bottom_split: String(split) } },
  );
  const rawConfig = JSON.parse(readFileSync(join(e.path, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(tmp, "config.json"), JSON.stringify({ ...rawConfig, sap_bottom: { split, model: name } }, null, 2) + "\n");
  for (const f of TOKENIZER_FILES) if (existsSync(join(e.path, f))) copyFileSync(join(e.path, f), join(tmp, f));
  const files: BottomFile[] = readdirSync(tmp)
    .sort()
    .map((f) => ({
      name: f,
      bytes: statSync(join(tmp, f)).size,
      sha256: createHash("sha256")
        .update(readFileSync(join(tmp, f)))
        .digest("hex"),
    }));
  const manifest: BottomManifest = {
    model: name,
    split,
    numLayers: config.numLayers,
    hiddenSize: config.hiddenSize,
    modelType: config.modelType,
    files,
  };
  writeFileSync(join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2));
  mkdirSync(join(cacheDir, name), { recursive: true });
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another request built it first: keep theirs.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(manifestPath)) throw err;
  }
  return { dir, manifest: JSON.parse(readFileSync(manifestPath, "utf8")) as BottomManifest };
}
