// How the CLI shows the library's progress events: a bar redrawn in place on a TTY, a plain line
// every 10 s otherwise (logs, CI); NO_COLOR and non-TTY streams get no escape codes.
import { formatDuration, type ProgressListener } from "../split/progress.js";
import type { Prediction } from "../wire/index.js";

function formatMetric(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(4);
}

/** Renders events on a stream (stderr by default), at most ~10 times a second on a TTY. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr, opts: { width?: number } = {}): ProgressListener {
  const tty = redraws(stream);
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

/** A bar redrawn in place only on a real terminal (not TERM=dumb, not a pipe or file). */
export function redraws(stream: { isTTY?: boolean }): boolean {
  return stream.isTTY === true && process.env.TERM !== "dumb";
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }): boolean {
  return redraws(stream) && !process.env.NO_COLOR;
}

/** A result on stdout: one JSON object per line with --json. */
export function printJson(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/** A result line on stdout. */
export function printLine(line: string): void {
  process.stdout.write(line + "\n");
}

/** Anything that is not the result (notes, hints) goes to stderr. */
export function note(line: string): void {
  process.stderr.write(line + "\n");
}

/** The error line the CLI ends with: red "error" on a colour terminal. */
export function errorLine(command: string, message: string): string {
  const tag = useColor(process.stderr) ? "\x1b[31merror\x1b[0m" : "error";
  return `sap ${command}: ${tag}: ${message}\n`;
}

/** Predictions as `label<TAB>probabilities<TAB>text` lines, or one JSON object. */
export function printPredictions(preds: Prediction[], json: boolean): void {
  if (json) return printJson({ predictions: preds });
  for (const p of preds)
    printLine(
      `${p.label}\t${Object.entries(p.probabilities)
        .map(([k, x]) => `${k}=${x.toFixed(3)}`)
        .join(" ")}\t${p.text}`,
    );
}
