// `sap bench engine`: one BERT layer, forward + backward, ours against PyTorch in the same run,
// each in fp32 and in bf16 mixed precision (ours: bf16 GEMMs on oneDNN; PyTorch: CPU autocast)
// where available. The variants alternate round by round (the machine is noisy); we report medians.
// Every distinct PyTorch found runs (e.g. the venv's 2.13 and Debian's python3-torch 1.13): the
// newest under the torch_* keys, the others under torch<major><minor>_*; what is absent is said.
import { BertLayer, additiveMask, type BertConfig } from "../models/bert.js";
import { LoraAdapter } from "../peft/lora/layer.js";
import { Rng, Tensor, backward, bf16Available, engineInfo, getPrecision, setPrecision, tidy } from "../tensor/index.js";
import { LineWorker, benchScript, findTorches, newestFirst, type FoundTorch } from "./worker.js";
import { median } from "../eval/stats.js";

export interface LayerShape {
  name: "base" | "small";
  hidden: number;
  heads: number;
  ffn: number;
}

export const LAYERS: LayerShape[] = [
  { name: "base", hidden: 768, heads: 12, ffn: 3072 },
  { name: "small", hidden: 256, heads: 4, ffn: 1024 },
];

export interface EngineBenchOptions {
  batch: number;
  seq: number;
  rounds: number;
  iters: number;
  warmup: number;
  torch: boolean;
  onProgress?: (msg: string) => void;
}

export type EngineBenchResult = Record<string, number | string | boolean | null>;

/** Forward FLOPs of one layer (multiply-add = 2). */
function forwardFlops(l: LayerShape, batch: number, seq: number): number {
  const n = batch * seq;
  return 2 * n * (4 * l.hidden * l.hidden + 2 * l.hidden * l.ffn) + 4 * batch * seq * seq * l.hidden;
}

function layerConfig(l: LayerShape): BertConfig {
  return {
    vocabSize: 8,
    hiddenSize: l.hidden,
    numLayers: 1,
    numHeads: l.heads,
    intermediateSize: l.ffn,
    hiddenAct: "gelu",
    maxPositions: 512,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
    hiddenDropout: 0,
    attentionDropout: 0,
    padTokenId: 0,
    initializerRange: 0.02,
    numLabels: 2,
  };
}

/** Times `iters` forward+backward passes of our layer after `warmup` untimed ones. */
function runOurs(l: LayerShape, mode: "full" | "lora", opts: EngineBenchOptions): number[] {
  const rng = new Rng(0);
  const layer = new BertLayer(layerConfig(l), rng).eval();
  if (mode === "lora") {
    layer.requiresGrad(false);
    const lora = { rank: 8, alpha: 16, dropout: 0 };
    layer.attention.self.query.attachAdapter("lora", new LoraAdapter(layer.attention.self.query, lora, rng));
    layer.attention.self.value.attachAdapter("lora", new LoraAdapter(layer.attention.self.value, lora, rng));
  }
  const { batch: B, seq: T } = opts;
  const x = Tensor.zeros([B, T, l.hidden], true);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  const attn = new Int32Array(B * T).map((_, i) => (i % T < T - Math.floor(T / 8) ? 1 : 0));
  const mask = additiveMask(attn);
  const g = new Float32Array(B * T * l.hidden).map(() => rng.normal());
  const times: number[] = [];
  for (let it = 0; it < opts.warmup + opts.iters; it++) {
    const t0 = performance.now();
    tidy(() => backward(layer.forward(x, mask), g));
    const t1 = performance.now();
    x.grad = null;
    layer.zeroGrad();
    if (it >= opts.warmup) times.push(t1 - t0);
  }
  return times;
}

/** The PyTorch builds to compare against, newest first (see worker.ts for where we look). */
export function enginePytorches(): { found: FoundTorch[]; absent: string[] } {
  const { found, absent } = findTorches();
  return { found: newestFirst(found), absent };
}

type TorchReply = { ms: number[]; maxrss_kb: number; bf16: boolean };

/** One PyTorch build under comparison: its worker, and the key prefix its results go under. */
interface TorchSide {
  torch: FoundTorch;
  worker: LineWorker;
  /** "torch" for the newest (the keys bench engine always had), "torch113" etc. for the others. */
  prefix: string;
  bf16: boolean;
  rss: number;
}

function torchWorker(t: FoundTorch, threads: number): LineWorker {
  return new LineWorker(
    `PyTorch ${t.version} (${t.python})`,
    t.python,
    [benchScript("torch_layer.py"), String(threads)],
    {
      OMP_WAIT_POLICY: "PASSIVE",
      OMP_NUM_THREADS: String(threads),
    },
    { echoStderr: true },
  );
}

export async function benchEngine(opts: EngineBenchOptions): Promise<EngineBenchResult> {
  const info = engineInfo();
  const torches = opts.torch ? enginePytorches() : { found: [], absent: [] };
  const sides: TorchSide[] = torches.found.map((t, i) => ({
    torch: t,
    worker: torchWorker(t, info.threads),
    prefix: i === 0 ? "torch" : `torch${(t.version.match(/\d+/g) ?? []).slice(0, 2).join("")}`,
    // PyTorch's autocast may be missing (old builds); the first bf16 reply says.
    bf16: true,
    rss: 0,
  }));
  const primary = sides[0];
  const ourBf16 = bf16Available();
  const result: EngineBenchResult = {
    threads: info.threads,
    backend: info.backend,
    bf16: ourBf16,
    batch: opts.batch,
    seq: opts.seq,
    rounds: opts.rounds,
    iters_per_round: opts.iters,
    torch: primary !== undefined,
    torch_python: primary?.torch.python ?? null,
    torch_version: primary?.torch.version ?? null,
    // Every PyTorch found and run (the newest's results are the torch_* keys; the others' carry their version).
    torch_ran: sides.map((s) => `${s.torch.version} (${s.torch.python}) as ${s.prefix}_*`).join("; ") || null,
    torch_absent: opts.torch ? torches.absent.join("; ") || null : "--no-torch",
  };
  for (const a of torches.absent) opts.onProgress?.(`no PyTorch from ${a}`);
  for (const s of sides) opts.onProgress?.(`PyTorch ${s.torch.version} from ${s.torch.python} (results: ${s.prefix}_*)`);
  const before = getPrecision();
  try {
    for (const l of LAYERS) {
      for (const mode of ["full", "lora"] as const) {
        // Variants: ours in fp32 and bf16, then each PyTorch in fp32 and bf16.
        const variants = ["ours", "ours_bf16", ...sides.flatMap((s) => [s.prefix, `${s.prefix}_bf16`])];
        const times = new Map<string, number[]>(variants.map((v) => [v, []]));
        for (let r = 0; r < opts.rounds; r++) {
          // Alternate the order, so drift in machine load hits all variants alike.
          const order = ["ours", ...sides.map((s) => s.prefix), "ours_bf16", ...sides.map((s) => `${s.prefix}_bf16`)];
          if (r % 2 === 1) order.reverse();
          for (const who of order) {
            if (who === "ours" || who === "ours_bf16") {
              if (who === "ours_bf16" && !ourBf16) continue;
              setPrecision(who === "ours" ? "fp32" : "bf16");
              times.get(who)!.push(...runOurs(l, mode, opts));
              continue;
            }
            const bf16 = who.endsWith("_bf16");
            const side = sides.find((s) => s.prefix === (bf16 ? who.slice(0, -5) : who))!;
            if (bf16 && !side.bf16) continue;
            const rep = await side.worker.request<TorchReply>({
              hidden: l.hidden,
              heads: l.heads,
              ffn: l.ffn,
              batch: opts.batch,
              seq: opts.seq,
              mode,
              iters: opts.iters,
              warmup: opts.warmup,
              precision: bf16 ? "bf16" : "fp32",
            });
            if (bf16 && !rep.bf16) side.bf16 = false;
            else times.get(who)!.push(...rep.ms);
            side.rss = Math.max(side.rss, rep.maxrss_kb);
          }
          opts.onProgress?.(`${l.name} ${mode}: round ${r + 1}/${opts.rounds}`);
        }
        const key = mode === "full" ? l.name : `${l.name}_lora`;
        const flops = forwardFlops(l, opts.batch, opts.seq) * (mode === "full" ? 3 : 2);
        const ms = (v: string): number | null => (times.get(v)!.length ? median(times.get(v)!) : null);
        for (const v of ["ours", "ours_bf16"]) {
          const m = ms(v);
          const name = v === "ours" ? key : `${key}_bf16`;
          result[`${name}_fwdbwd_ms`] = m === null ? null : round(m);
          result[`${name}_gflops`] = m === null ? null : round(flops / m / 1e6);
        }
        const ratio = (a: string, b: string): number | null => {
          const x = ms(a),
            y = ms(b);
          return x === null || y === null ? null : round(x / y, 3);
        };
        for (const s of sides) {
          for (const [v, name] of [
            [s.prefix, `${s.prefix}_${key}`],
            [`${s.prefix}_bf16`, `${s.prefix}_${key}_bf16`],
          ] as const) {
            const m = ms(v);
            result[`${name}_fwdbwd_ms`] = m === null ? null : round(m);
          }
          const tag = s === primary ? "" : `_${s.prefix}`;
          result[`ratio_${key}${tag}`] = ratio("ours", s.prefix);
          result[`ratio_${key}_bf16${tag}`] = ratio("ours_bf16", `${s.prefix}_bf16`);
        }
        if (!primary) {
          result[`torch_${key}_fwdbwd_ms`] = null;
          result[`torch_${key}_bf16_fwdbwd_ms`] = null;
          result[`ratio_${key}`] = null;
          result[`ratio_${key}_bf16`] = null;
        }
        result[`speedup_${key}_bf16`] = ratio("ours", "ours_bf16");
      }
    }
  } finally {
    for (const s of sides) s.worker.close();
    setPrecision(before);
  }
  result.torch_bf16 = primary ? primary.bf16 : null;
  const peak = process.resourceUsage().maxRSS;
  result.peak_rss_mb = round(peak / 1024);
  for (const s of sides) result[`${s.prefix}_peak_rss_mb`] = round(s.rss / 1024);
  if (!primary) result.torch_peak_rss_mb = null;
  result.rss_ratio = primary ? round(peak / primary.rss, 3) : null;
  for (const s of sides.slice(1)) result[`${s.prefix}_bf16`] = s.bf16;
  return result;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
