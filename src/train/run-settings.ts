// A run's settings stored next to its outputs (settings.json for a fine-tuning run, sweep.json for
// a privacy sweep), so that resuming with other settings is refused instead of writing a report
// about a run that never happened; and the guard against writing into a used folder.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import type { Dataset } from "../data/index.js";

/** The outputs in a folder came from other settings (or another run) than the ones given now. */
export class RunMismatchError extends Error {
  override readonly name = "RunMismatchError";
}

/** JSON with sorted keys, so that two equal settings objects compare equal whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v ?? null);
}

/** "lr: 0.001 in the stored run, 0.0005 now" for every top-level key whose value differs. */
export function settingsDiff(stored: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(stored), ...Object.keys(now)])];
  const shown = (v: unknown): string => (v === undefined ? "(not set)" : canonicalJson(v));
  return keys
    .filter((k) => canonicalJson(stored[k]) !== canonicalJson(now[k]))
    .map((k) => `${k}: ${shown(stored[k])} there, ${shown(now[k])} now`);
}

/** The settings stored in `file`, or undefined when there is none. */
export function readSettings(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

export function writeSettings(file: string, settings: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify(settings, null, 2) + "\n");
}

/** Throws a RunMismatchError naming each differing setting when `file` holds other settings. */
export function checkSettings(file: string, now: Record<string, unknown>, what: string, hint: string): void {
  const stored = readSettings(file);
  if (!stored) return;
  const diff = settingsDiff(stored, now);
  if (diff.length) throw new RunMismatchError(`${what} was made with other settings (${file}):\n  ${diff.join("\n  ")}\n${hint}`);
}

/** True when `dir` exists and holds anything. */
export function usedFolder(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}

/** A short hash of the examples (texts, pairs, labels) and label names: another subset or file differs. */
export function datasetFingerprint(d: Pick<Dataset, "labels" | "train" | "dev">): string {
  const h = createHash("sha256");
  h.update(JSON.stringify(d.labels));
  for (const part of [d.train, d.dev]) {
    h.update(`|${part.length}|`);
    for (const e of part) h.update(`${e.label}\u0000${e.text}\u0000${e.textPair ?? ""}\u0001`);
  }
  return h.digest("hex").slice(0, 16);
}
