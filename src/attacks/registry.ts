// Attacks by name, each with its parameters declared: token inversion (what the vendor recovers of
// the text from what it received) and attribute inference (a private field of the example the
// task does not need). `sap eval privacy`, its help and its validation read this registry.
import type { Dataset } from "../data/index.js";
import { ParamError, parseParams, shortJson, type Declared, type ParamRecord } from "../params/index.js";
import type { AttackContext, InversionAttack } from "./attack.js";
import { attributeInference, type AttributeResult } from "./attribute.js";
import { epochAveraging, type AveragingResult, type ReceivedExample } from "./averaging.js";
import { DEFAULT_DECODER_OPTIONS, TransformerInversionAttack } from "./decoder.js";
import { LearnedInversionAttack } from "./learned.js";
import { NearestNeighbourAttack } from "./nearest.js";
import { OptimizationInversionAttack } from "./optimization.js";
import { paddingProbe } from "./padding.js";

interface AttackBase extends Declared {
  /** The dataset must carry these meta fields on its dev examples (checked before any work). */
  readonly needsMeta?: readonly string[];
}

export interface InversionEntry extends AttackBase {
  readonly kind: "inversion";
  create(params: ParamRecord): InversionAttack;
}

export interface AttributeEntry extends AttackBase {
  readonly kind: "attribute";
  /** Runs on the dataset's dev split: the attacker knows the attribute on a public half. */
  run(ctx: AttackContext, dataset: Dataset, params: ParamRecord): AttributeResult;
}

export interface MultiReleaseEntry extends AttackBase {
  readonly kind: "multi-release";
  /** How many releases of each example the vendor observes (epochs). */
  copiesOf(params: ParamRecord): number;
  /** Copy 0 in order, the others shuffled (truthIndex: where copy 0's example i sits in copy c). */
  run(
    ctx: AttackContext,
    copies: ReceivedExample[][],
    truthIndex: Int32Array[],
    dim: number,
    params: ParamRecord,
  ): AveragingResult;
}

export type AttackEntry = InversionEntry | AttributeEntry | MultiReleaseEntry;

const attacks = new Map<string, AttackEntry>();

export function registerAttack(entry: AttackEntry): void {
  attacks.set(entry.name, entry);
}

export function attackEntry(name: string): AttackEntry {
  const e = attacks.get(name);
  if (!e) throw new ParamError(`unknown attack ${shortJson(name)} (available: ${[...attacks.keys()].join(", ")})`);
  return e;
}

export function listAttacks(): AttackEntry[] {
  return [...attacks.values()];
}

export function checkAttackParams(name: string, params: Record<string, unknown>): ParamRecord {
  return parseParams(`attack ${name}`, attackEntry(name).params, params);
}

/** Refuses, before any work, an attack the dataset cannot feed. */
export function checkAttackFits(name: string, dataset: Dataset): void {
  const e = attackEntry(name);
  for (const field of e.needsMeta ?? [])
    if (!dataset.dev.length || dataset.dev.some((x) => x.meta?.[field] === undefined))
      throw new ParamError(
        `attack ${name} needs the "${field}" field on every dev example; dataset ${dataset.name} lacks it (use --task imdb)`,
      );
}

const nearest = (name: string, metric: "l2" | "cosine", candidates: "bottom" | "vocab", summary: string): InversionEntry => ({
  name,
  kind: "inversion",
  summary,
  params: [],
  create: () => new NearestNeighbourAttack({ metric, candidates }),
});

registerAttack(
  nearest("nn-l2", "l2", "bottom", "nearest vocabulary token by L2 distance, candidates run through the public bottom"),
);
registerAttack(nearest("nn-cosine", "cosine", "bottom", "nearest vocabulary token by cosine similarity, through the bottom"));
registerAttack(nearest("nn-vocab", "l2", "vocab", "nearest raw word embedding by L2 distance (meaningful at k = 0)"));

registerAttack({
  name: "mlp",
  kind: "inversion",
  summary: "a per-token MLP trained on public text through the public bottom and the same mechanism",
  params: [
    { name: "epochs", type: "int", default: 3, min: 1, max: 100, help: "training epochs on the public text" },
    { name: "hidden", type: "int", default: 512, min: 8, max: 8192, help: "hidden width" },
    { name: "lr", type: "number", default: 2e-3, min: 0, minExclusive: true, max: 1, help: "learning rate" },
  ],
  create: (p) =>
    new LearnedInversionAttack({
      hidden: p.hidden as number,
      epochs: p.epochs as number,
      maxClasses: 5000,
      lr: p.lr as number,
      batchTokens: 256,
      maxTexts: 4000,
    }),
});

registerAttack({
  name: "transformer",
  kind: "inversion",
  summary: "a bidirectional transformer decoder over the whole privatized sequence, trained on public text",
  params: [
    { name: "epochs", type: "int", default: DEFAULT_DECODER_OPTIONS.epochs, min: 1, max: 100, help: "training epochs" },
    {
      name: "lr",
      type: "number",
      default: DEFAULT_DECODER_OPTIONS.lr,
      min: 0,
      minExclusive: true,
      max: 1,
      help: "learning rate",
    },
  ],
  create: (p) => new TransformerInversionAttack({ ...DEFAULT_DECODER_OPTIONS, epochs: p.epochs as number, lr: p.lr as number }),
});

registerAttack({
  name: "optim",
  kind: "inversion",
  summary: "optimisation: fit input vectors whose bottom output matches what was received, then nearest tokens",
  params: [
    { name: "steps", type: "int", default: 150, min: 1, max: 10_000, help: "optimisation steps per batch" },
    { name: "lr", type: "number", default: 0.05, min: 0, minExclusive: true, max: 10, help: "learning rate" },
  ],
  create: (p) => new OptimizationInversionAttack({ steps: p.steps as number, lr: p.lr as number }),
});

registerAttack({
  name: "epoch-average",
  kind: "multi-release",
  summary:
    "links the copies of each example across epochs from what was received, averages them, then inverts (shows linkage too)",
  params: [
    { name: "copies", type: "int", default: 3, min: 2, max: 20, help: "releases of each example observed (epochs)" },
    {
      name: "inner",
      type: "string",
      default: "optim",
      choices: ["nn-l2", "nn-cosine", "optim"],
      help: "the inversion run on the averages",
    },
  ],
  copiesOf: (p) => p.copies as number,
  run: (ctx, copies, truthIndex, dim, p) => {
    const inner = attackEntry(p.inner as string);
    if (inner.kind !== "inversion") throw new ParamError(`epoch-average: inner attack ${String(p.inner)} is not an inversion`);
    return epochAveraging(copies, truthIndex, dim, inner.create(checkAttackParams(inner.name, {})), ctx);
  },
});

registerAttack({
  name: "padding-probe",
  kind: "attribute",
  summary: "reads the task label from the padding rows of what was received (wire 1 leaked them; wire 2 sends zeros)",
  params: [
    { name: "epochs", type: "int", default: 30, min: 1, max: 1000, help: "training epochs of the probe" },
    {
      name: "wire",
      type: "int",
      default: 2,
      min: 1,
      max: 2,
      help: "wire format the vendor receives (1: the old, undefended one)",
    },
  ],
  run: (ctx, dataset, p) => {
    const half = Math.floor(dataset.dev.length / 2);
    const part = (xs: typeof dataset.dev): { texts: string[]; labels: number[] } => ({
      texts: xs.map((e) => e.text),
      labels: xs.map((e) => e.label),
    });
    return paddingProbe(ctx, part(dataset.dev.slice(0, half)), part(dataset.dev.slice(half)), {
      version: p.wire as 1 | 2,
      epochs: p.epochs as number,
    });
  },
});

registerAttack({
  name: "aia-rating",
  kind: "attribute",
  summary: "attribute inference of the IMDB star rating from pooled privatized vectors (needs --task imdb)",
  needsMeta: ["rating"],
  params: [{ name: "epochs", type: "int", default: 30, min: 1, max: 1000, help: "training epochs of the attribute MLP" }],
  run: (ctx, dataset, p) => {
    // Public half of the dev texts (the attacker knows their ratings) vs the customer's half.
    const half = Math.floor(dataset.dev.length / 2);
    const pub = dataset.dev.slice(0, half);
    const priv = dataset.dev.slice(half);
    return attributeInference(
      ctx,
      pub.map((e) => e.text),
      pub.map((e) => Number(e.meta!.rating)),
      priv.map((e) => e.text),
      priv.map((e) => Number(e.meta!.rating)),
      p.epochs as number,
    );
  },
});
