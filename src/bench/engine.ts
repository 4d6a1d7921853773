// `sap bench engine`: one BERT layer, forward + backward, ours against PyTorch in the same run,
// each in fp32 and in bf16 mixed precision (ours: bf16 GEMMs on oneDNN; PyTorch: CPU autocast)
// where available. The variants alternate round by round (the machine is noisy); we report medians.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { BertLayer, additiveMask, type BertConfig } from "../models/bert.js";
import { LoraAdapter } from "../peft/lora/layer.js";
import { Rng, Tensor, backward, bf16Available, engineInfo, getPrecision, setPrecision, tidy } from "../tensor/index.js";

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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

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

/** The first Python that imports torch: $SAP_TORCH_PYTHON, $SAP_PYTHON, Debian's /usr/bin/python3, python3 on PATH. */
export function findTorchPython(): { python: string; version: string } | null {
  const candidates = [process.env.SAP_TORCH_PYTHON, process.env.SAP_PYTHON, "/usr/bin/python3", "python3"].filter(
    (p): p is string => !!p,
  );
  for (const python of candidates) {
    if (python.includes("/") && !existsSync(python)) continue;
    const r = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return null;
}

export function torchAvailable(): boolean {
  return findTorchPython() !== null;
}

type TorchReply = { ms: number[]; maxrss_kb: number; bf16: boolean };

class TorchWorker {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;

  constructor(python: string, threads: number) {
    const here = dirname(fileURLToPath(import.meta.url));
    let script = join(here, "..", "..", "bench", "torch_layer.py");
    if (!existsSync(script)) script = join(here, "..", "..", "..", "bench", "torch_layer.py");
    this.proc = spawn(python, [script, String(threads)], {
      env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE", OMP_NUM_THREADS: String(threads) },
    });
    this.proc.stderr.on("data", (d: Buffer) => process.stderr.write(d));
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async run(req: object): Promise<TorchReply> {
    this.proc.stdin.write(JSON.stringify(req) + "\n");
    const next = await this.lines.next();
    if (next.done) throw new Error("PyTorch reference process exited early");
    return JSON.parse(next.value) as TorchReply;
  }

  close(): void {
    this.proc.stdin.end();
  }
}

type Variant = "ours" | "ours_bf16" | "torch" | "torch_bf16";

export async function benchEngine(opts: EngineBenchOptions): Promise<EngineBenchResult> {
  const info = engineInfo();
  const py = opts.torch ? findTorchPython() : null;
  const worker = py ? new TorchWorker(py.python, info.threads) : null;
  const ourBf16 = bf16Available();
  const result: EngineBenchResult = {
    threads: info.threads,
    backend: info.backend,
    bf16: ourBf16,
    batch: opts.batch,
    seq: opts.seq,
    rounds: opts.rounds,
    iters_per_round: opts.iters,
    torch: py !== null,
    torch_python: py?.python ?? null,
    torch_version: py?.version ?? null,
  };
  let torchRss = 0;
  // PyTorch's autocast may be missing (old builds); the first bf16 reply says.
  let torchBf16 = worker !== null;
  const before = getPrecision();
  try {
    for (const l of LAYERS) {
      for (const mode of ["full", "lora"] as const) {
        const times: Record<Variant, number[]> = { ours: [], ours_bf16: [], torch: [], torch_bf16: [] };
        for (let r = 0; r < opts.rounds; r++) {
          // Alternate the order, so drift in machine load hits all variants alike.
          const order: Variant[] = ["ours", "torch", "ours_bf16", "torch_bf16"];
          if (r % 2 === 1) order.reverse();
          for (const who of order) {
            if (who === "ours" || who === "ours_bf16") {
              if (who === "ours_bf16" && !ourBf16) continue;
              setPrecision(who === "ours" ? "fp32" : "bf16");
              times[who].push(...runOurs(l, mode, opts));
            } else if (worker && (who === "torch" || torchBf16)) {
              const rep = await worker.run({
                hidden: l.hidden,
                heads: l.heads,
                ffn: l.ffn,
                batch: opts.batch,
                seq: opts.seq,
                mode,
                iters: opts.iters,
                warmup: opts.warmup,
                precision: who === "torch" ? "fp32" : "bf16",
              });
              if (who === "torch_bf16" && !rep.bf16) torchBf16 = false;
              else times[who].push(...rep.ms);
              torchRss = Math.max(torchRss, rep.maxrss_kb);
            }
          }
          opts.onProgress?.(`${l.name} ${mode}: round ${r + 1}/${opts.rounds}`);
        }
        const key = mode === "full" ? l.name : `${l.name}_lora`;
        const flops = forwardFlops(l, opts.batch, opts.seq) * (mode === "full" ? 3 : 2);
        const ms = (v: Variant): number | null => (times[v].length ? median(times[v]) : null);
        for (const [v, name] of [
          ["ours", key],
          ["ours_bf16", `${key}_bf16`],
          ["torch", `torch_${key}`],
          ["torch_bf16", `torch_${key}_bf16`],
        ] as const) {
          const m = ms(v);
          result[`${name}_fwdbwd_ms`] = m === null ? null : round(m);
          if (v.startsWith("ours")) result[`${name}_gflops`] = m === null ? null : round(flops / m / 1e6);
        }
        const ratio = (a: Variant, b: Variant): number | null => {
          const x = ms(a),
            y = ms(b);
          return x === null || y === null ? null : round(x / y, 3);
        };
        result[`ratio_${key}`] = ratio("ours", "torch");
        result[`ratio_${key}_bf16`] = ratio("ours_bf16", "torch_bf16");
        result[`speedup_${key}_bf16`] = ratio("ours", "ours_bf16");
      }
    }
  } finally {
    worker?.close();
    setPrecision(before);
  }
  result.torch_bf16 = worker ? torchBf16 : null;
  const peak = process.resourceUsage().maxRSS;
  result.peak_rss_mb = round(peak / 1024);
  result.torch_peak_rss_mb = worker ? round(torchRss / 1024) : null;
  result.rss_ratio = worker ? round(peak / torchRss, 3) : null;
  return result;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
