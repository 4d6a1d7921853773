// Typed progress events from long-running library work (pre-training, fine-tuning, sweeps, the
// client) and the rate meter behind their throughput and ETA. The CLI renders them (cli/render.ts).

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
