// Trainer checkpoints that survive a crash: model weights, optimizer moments and loop state,
// written to a temporary folder and renamed into place, so a reader sees the old checkpoint or
// the new one, never half of one.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AdamW, readSafetensors, writeSafetensors, type Module, type Tensor } from "../tensor/index.js";

export interface TrainerCheckpoint<S> {
  state: S;
  weights: Map<string, Float32Array>;
}

/** Saves weights (F32), AdamW moments and a JSON state into `dir` atomically. */
export function saveTrainerCheckpoint<S>(
  dir: string,
  model: Module,
  opt: AdamW,
  state: S,
  extraFiles: Record<string, string> = {},
): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const params = model.namedParameters();
  writeSafetensors(
    join(tmp, "model.safetensors"),
    params.map(([n, t]) => [n, { shape: t.shape, data: t.data }]),
  );
  const { step, entries } = momentEntries(params, opt);
  writeSafetensors(join(tmp, "optimizer.safetensors"), entries, { metadata: { step: String(step) } });
  for (const [f, content] of Object.entries(extraFiles)) writeFileSync(join(tmp, f), content);
  writeFileSync(join(tmp, "state.json"), JSON.stringify(state, null, 2));
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

type Entry = [string, { shape: number[]; data: Float32Array }];

/** AdamW's step and moments as tensors `m.<param>` / `v.<param>`. */
function momentEntries(params: Array<[string, Tensor]>, opt: AdamW): { step: number; entries: Entry[] } {
  const { step, moments } = opt.exportState(new Map(params.map(([n, t]) => [t, n] as [Tensor, string])));
  const entries: Entry[] = [];
  for (const [n, s] of moments) {
    entries.push([`m.${n}`, { shape: [s.m.length], data: s.m }]);
    entries.push([`v.${n}`, { shape: [s.v.length], data: s.v }]);
  }
  return { step, entries };
}

/** Copies every parameter's saved values in, refusing a checkpoint that lacks one or sizes it differently. */
function copyWeights(
  byName: Map<string, Tensor>,
  saved: (name: string) => { data: Float32Array } | undefined,
  where: string,
): void {
  for (const [n, p] of byName) {
    const w = saved(n);
    if (!w || w.data.length !== p.size)
      throw new Error(`${where}: checkpoint lacks ${n} or its size differs (was it made for another model?)`);
    p.data.set(w.data);
  }
}

/** AdamW moments from tensors named `m.<param>` / `v.<param>` (others are ignored). */
function momentsFrom(tensors: Map<string, { data: Float32Array }>): Map<string, { m: Float32Array; v: Float32Array }> {
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  for (const [k, t] of tensors) {
    const [kind, ...rest] = k.split(".");
    if (kind !== "m" && kind !== "v") continue;
    const name = rest.join(".");
    const e = moments.get(name) ?? { m: new Float32Array(0), v: new Float32Array(0) };
    if (kind === "m") e.m = t.data;
    else e.v = t.data;
    moments.set(name, e);
  }
  return moments;
}

/** Loads a checkpoint written by saveTrainerCheckpoint into model and optimizer. */
export function loadTrainerCheckpoint<S>(dir: string, model: Module, opt: AdamW): S {
  const stateFile = join(dir, "state.json");
  if (!existsSync(stateFile)) throw new Error(`${dir}: not a trainer checkpoint (no state.json)`);
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as S;
  const weights = readSafetensors(join(dir, "model.safetensors")).tensors;
  const byName = new Map(model.namedParameters());
  copyWeights(byName, (n) => weights.get(n), dir);
  const opt_ = readSafetensors(join(dir, "optimizer.safetensors"));
  opt.importState(Number(opt_.metadata.step ?? 0), momentsFrom(opt_.tensors), byName);
  return state;
}

/**
 * The same checkpoint as one safetensors file (weights `w.*`, moments `m.*`/`v.*`, the state as
 * JSON metadata), written with one fsync and one rename. For checkpoints taken every step (the
 * service acknowledges a step only once it is durable), where the folder's three files, two
 * renames and a removal cost more than the step of a small model.
 */
export function saveTrainerCheckpointFile<S>(file: string, model: Module, opt: AdamW, state: S): void {
  const params = model.namedParameters();
  const { step, entries: moments } = momentEntries(params, opt);
  const weights: Entry[] = params.map(([n, t]) => [`w.${n}`, { shape: t.shape, data: t.data }]);
  writeSafetensors(file, [...weights, ...moments], { metadata: { step: String(step), state: JSON.stringify(state) } });
}

/** Loads a file written by saveTrainerCheckpointFile into model and optimizer; returns the state. */
export function loadTrainerCheckpointFile<S>(file: string, model: Module, opt: AdamW): S {
  const f = readSafetensors(file);
  if (f.metadata.state === undefined) throw new Error(`${file}: not a trainer checkpoint (no state in its metadata)`);
  const byName = new Map(model.namedParameters());
  copyWeights(byName, (n) => f.tensors.get(`w.${n}`), file);
  opt.importState(Number(f.metadata.step ?? 0), momentsFrom(f.tensors), byName);
  return JSON.parse(f.metadata.state) as S;
}
