// How the CLI shows the library's progress events: a bar redrawn in place on a TTY, a plain line
// every 10 s otherwise (logs, CI); NO_COLOR and non-TTY streams get no escape codes.
import { formatDuration, type ProgressListener } from "../split/progress.js";

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
