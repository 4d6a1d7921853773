// Typed progress events from long-running library work (pre-training, fine-tuning, sweeps), and
// the terminal renderer the CLI uses: a progress bar on a TTY, periodic plain lines otherwise.

export interface ProgressEvent {
  /** What is running, e.g. "pretrain", "finetune", "eval". */
  task: string;
  /** Units done and total (steps, examples, runs). */
  done: number;
  total: number;
  unit: string;
  /** Throughput in `rateUnit` per second, if known. */
  rate?: number;
  rateUnit?: string;
  /** Seconds left, estimated. */
  etaSeconds?: number;
  /** Numbers worth showing: loss, accuracy, lr... */
  metrics?: Record<string, number>;
  /** A line of its own (epoch summaries, checkpoints). */
  message?: string;
}

export type ProgressListener = (e: ProgressEvent) => void;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
}

function formatMetric(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(4);
}

/** Renders events on a stream (stderr by default), at most ~10 times a second on a TTY. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr, opts: { width?: number } = {}): ProgressListener {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let lastPlain = 0;
  const width = opts.width ?? 24;
  return (e) => {
    if (e.message) {
      if (tty) stream.write("\r\x1b[2K");
      stream.write(`${e.task}: ${e.message}\n`);
      return;
    }
    const now = Date.now();
    const finished = e.done >= e.total;
    const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 0;
    const bar = "█".repeat(Math.round(frac * width)).padEnd(width, "░");
    const metrics = Object.entries(e.metrics ?? {})
      .map(([k, v]) => `${k} ${formatMetric(v)}`)
      .join("  ");
    const rate = e.rate !== undefined ? `  ${e.rate.toFixed(e.rate < 10 ? 2 : 0)} ${e.rateUnit ?? e.unit}/s` : "";
    const eta = e.etaSeconds !== undefined ? `  ETA ${formatDuration(e.etaSeconds)}` : "";
    const line = `${e.task} ${bar} ${e.done}/${e.total} ${e.unit}${rate}${eta}  ${metrics}`;
    if (tty) {
      if (now - lastDraw < 100 && !finished) return;
      lastDraw = now;
      stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 160) - 1)}`);
      if (finished) stream.write("\n");
    } else if (now - lastPlain >= 10_000 || finished) {
      lastPlain = now;
      stream.write(line + "\n");
    }
  };
}

/** Tracks throughput and ETA from a stream of completed units. */
export class RateMeter {
  private readonly start = performance.now();
  private startDone: number;
  constructor(startDone = 0) {
    this.startDone = startDone;
  }
  /** Units per second since construction. */
  rate(done: number): number {
    const dt = (performance.now() - this.start) / 1000;
    return dt > 0 ? (done - this.startDone) / dt : 0;
  }
  eta(done: number, total: number): number {
    const r = this.rate(done);
    return r > 0 ? (total - done) / r : Number.POSITIVE_INFINITY;
  }
  elapsedSeconds(): number {
    return (performance.now() - this.start) / 1000;
  }
}
