// The privacy–utility report: an SVG scatter (empirical privacy vs accuracy, one series per
// mechanism and attack), a Markdown and an HTML page with the table, the plot and the settings.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SweepSummaryRow } from "./types.js";

// Colour by mechanism, marker by attack: a series is told apart by both, for any number of them.
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const MARKERS = ["circle", "square", "triangle", "diamond", "down"] as const;

/** The i-th colour: the palette, then hues a golden angle apart (distinct however many). */
export function seriesColor(i: number): string {
  if (i < COLORS.length) return COLORS[i]!;
  return `hsl(${Math.round((i * 137.508) % 360)}, 65%, 38%)`;
}

/** The i-th marker: five shapes filled, then the same hollow, then repeating with a heavier outline. */
export function seriesMarker(i: number): { shape: (typeof MARKERS)[number]; hollow: boolean } {
  return { shape: MARKERS[i % MARKERS.length]!, hollow: Math.floor(i / MARKERS.length) % 2 === 1 };
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function markerSvg(shape: (typeof MARKERS)[number], hollow: boolean, cx: number, cy: number, color: string, title = ""): string {
  const paint = hollow ? `fill="white" stroke="${color}" stroke-width="2"` : `fill="${color}" stroke="white" stroke-width="0.8"`;
  const t = title ? `<title>${esc(title)}</title>` : "";
  const r = 4.5;
  const f = (v: number): string => v.toFixed(1);
  const poly = (pts: Array<[number, number]>): string =>
    `<polygon points="${pts.map(([a, b]) => `${f(cx + a)},${f(cy + b)}`).join(" ")}" ${paint}>${t}</polygon>`;
  if (shape === "circle") return `<circle cx="${f(cx)}" cy="${f(cy)}" r="${r}" ${paint}>${t}</circle>`;
  if (shape === "square")
    return `<rect x="${f(cx - r + 0.5)}" y="${f(cy - r + 0.5)}" width="${2 * r - 1}" height="${2 * r - 1}" ${paint}>${t}</rect>`;
  if (shape === "triangle")
    return poly([
      [0, -r - 1],
      [r + 0.5, r - 0.5],
      [-r - 0.5, r - 0.5],
    ]);
  if (shape === "down")
    return poly([
      [0, r + 1],
      [r + 0.5, -r + 0.5],
      [-r - 0.5, -r + 0.5],
    ]);
  return poly([
    [0, -r - 1],
    [r + 1, 0],
    [0, r + 1],
    [-r - 1, 0],
  ]);
}

export interface PlotOptions {
  /** Accuracy of always predicting the dev set's most frequent class: drawn as a dashed line. */
  majority?: number;
  width?: number;
  height?: number;
}

/**
 * Scatter of (empirical privacy, accuracy) per setting, one series per mechanism and attack, each
 * point labelled with its budget. Points that would coincide (no privacy: x = 0 for every attack
 * that recovers all tokens) are set side by side so that none hides another.
 */
export function privacyUtilitySvg(rows: SweepSummaryRow[], opts: PlotOptions = {}): string {
  const pts = rows.filter(
    (r) => Number.isFinite(r.accuracy) && Number.isFinite(r.empirical_privacy) && !Number.isFinite(r.attack_success),
  );
  const mechanisms = [...new Set(pts.map((r) => r.privatizer))];
  const attacks = [...new Set(pts.map((r) => r.attack))];
  const series = [...new Set(pts.map((r) => `${r.privatizer} / ${r.attack}`))];
  const width = opts.width ?? 760;
  const pad = { l: 60, r: 190, t: 40, b: 60 };
  const height = Math.max(opts.height ?? 460, pad.t + 20 * series.length + 60);
  const majority = opts.majority !== undefined && Number.isFinite(opts.majority) ? opts.majority : undefined;
  const accs = [...pts.map((r) => r.accuracy), ...(majority !== undefined ? [majority] : [])];
  const yMin = Math.max(0, Math.min(...accs, 1) - 0.05);
  const yMax = Math.min(1, Math.max(...accs, 0) + 0.05);
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const x = (v: number): number => pad.l + 8 + v * (plotW - 16);
  const y = (v: number): number => pad.t + (1 - (v - yMin) / Math.max(1e-9, yMax - yMin)) * plotH;
  const styleOf = (r: SweepSummaryRow): { color: string; shape: (typeof MARKERS)[number]; hollow: boolean } => ({
    color: seriesColor(mechanisms.indexOf(r.privatizer)),
    ...seriesMarker(attacks.indexOf(r.attack)),
  });

  // Where each point is drawn: clusters of points within 4 px are spread along x, 10 px apart.
  const placed = pts.map((r) => ({ r, px: x(r.empirical_privacy), py: y(r.accuracy) }));
  const clusters: Array<typeof placed> = [];
  for (const p of [...placed].sort((a, b) => a.px - b.px || a.py - b.py)) {
    const c = clusters.find((g) => Math.abs(g[0]!.px - p.px) < 4 && Math.abs(g[0]!.py - p.py) < 4);
    if (c) c.push(p);
    else clusters.push([p]);
  }
  for (const c of clusters) {
    // Centred on the true x, kept inside the axes (a cluster at x = 0 spreads to the right).
    const half = ((c.length - 1) / 2) * 10;
    const cx = Math.min(Math.max(c[0]!.px, pad.l + 6 + half), width - pad.r - 6 - half);
    c.forEach((p, j) => (p.px = cx - half + j * 10));
  }

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad.l}" y="22" font-size="14" font-weight="bold">Privacy–utility: empirical privacy (1 − token recovery) vs accuracy</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    out.push(`<line x1="${x(v)}" y1="${pad.t}" x2="${x(v)}" y2="${height - pad.b}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x(v)}" y="${height - pad.b + 16}" text-anchor="middle">${v.toFixed(1)}</text>`);
    const a = yMin + (i / 5) * (yMax - yMin);
    out.push(`<line x1="${pad.l}" y1="${y(a)}" x2="${width - pad.r}" y2="${y(a)}" stroke="#e6e6e6"/>`);
    out.push(`<text x="${pad.l - 6}" y="${y(a) + 4}" text-anchor="end">${(100 * a).toFixed(0)}%</text>`);
  }
  out.push(`<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="black"/>`);
  out.push(`<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="black"/>`);
  out.push(
    `<text x="${pad.l + plotW / 2}" y="${height - pad.b + 34}" text-anchor="middle">empirical privacy (higher: less recovered)</text>`,
  );
  out.push(
    `<text x="16" y="${pad.t + plotH / 2}" transform="rotate(-90 16 ${pad.t + plotH / 2})" text-anchor="middle">dev accuracy</text>`,
  );
  type Box = [number, number, number, number];
  const boxes: Box[] = [];
  if (majority !== undefined) {
    const my = y(majority);
    const label = `majority class ${(100 * majority).toFixed(1)}%`;
    boxes.push([width - pad.r - 4 - 6 * label.length, my - 15, width - pad.r - 4, my - 3]);
    out.push(
      `<line class="majority" x1="${pad.l}" y1="${my}" x2="${width - pad.r}" y2="${my}" stroke="#555" stroke-width="1.2" stroke-dasharray="6 4"/>`,
    );
    out.push(`<text x="${width - pad.r - 4}" y="${my - 5}" text-anchor="end" fill="#444" font-size="11">${label}</text>`);
  }
  // Lines first, points over them, labels over both.
  for (const name of series) {
    const ps = placed.filter((p) => `${p.r.privatizer} / ${p.r.attack}` === name).sort((a, b) => a.px - b.px);
    if (ps.length > 1)
      out.push(
        `<polyline fill="none" stroke="${styleOf(ps[0]!.r).color}" stroke-opacity="0.6" stroke-width="1.5" points="${ps.map((p) => `${p.px.toFixed(1)},${p.py.toFixed(1)}`).join(" ")}"/>`,
      );
  }
  for (const p of placed) {
    const st = styleOf(p.r);
    const title = `${p.r.privatizer} / ${p.r.attack} ${budgetText(p.r)}: accuracy ${(100 * p.r.accuracy).toFixed(2)}%, token recovery ${(100 * p.r.token_recovery).toFixed(2)}%`;
    out.push(
      markerSvg(st.shape, st.hollow, p.px, p.py, st.color, title).replace(
        /^<(\w+) /,
        `<$1 class="point" data-cx="${p.px.toFixed(1)}" data-cy="${p.py.toFixed(1)}" `,
      ),
    );
  }
  // One budget label per cluster and budget, placed where it overlaps no label already placed.

  const overlaps = (a: Box, b: Box): boolean => !(a[2] < b[0] || a[0] > b[2] || a[3] < b[1] || a[1] > b[3]);
  // How badly a label box collides: outside the axes, over another label, over a point.
  const cost = (b: Box): number =>
    (b[0] < pad.l || b[2] > width - pad.r + 30 || b[1] < pad.t - 4 || b[3] > height - pad.b ? 100 : 0) +
    10 * boxes.filter((o) => overlaps(o, b)).length +
    placed.filter((q) => overlaps([q.px - 5, q.py - 5, q.px + 5, q.py + 5], b)).length;
  for (const c of clusters) {
    for (const text of [...new Set(c.filter((p) => p.r.eta !== null).map((p) => budgetText(p.r)))]) {
      const members = c.filter((p) => budgetText(p.r) === text);
      const left = Math.min(...members.map((p) => p.px)) - 6;
      const right = Math.max(...members.map((p) => p.px)) + 6;
      const cy = members[0]!.py;
      const w = 6.2 * text.length;
      const candidates: Array<[number, number, "start" | "end"]> = [];
      for (const dy of [-7, 13, -19, 25, -31, 37])
        candidates.push([right, cy + dy, "start"], [left, cy + dy, "end"], [(left + right) / 2 - w / 2, cy + dy - 6, "start"]);
      const boxOf = ([tx, ty, anchor]: [number, number, "start" | "end"]): Box =>
        anchor === "start" ? [tx, ty - 10, tx + w, ty + 2] : [tx - w, ty - 10, tx, ty + 2];
      // The first candidate (nearest) among those that collide least.
      const at = candidates.reduce((best, cand) => (cost(boxOf(cand)) < cost(boxOf(best)) ? cand : best));
      boxes.push(boxOf(at));
      out.push(
        `<text class="budget" x="${at[0].toFixed(1)}" y="${at[1].toFixed(1)}" text-anchor="${at[2]}" font-size="10.5" fill="${styleOf(members[0]!.r).color}">${esc(text)}</text>`,
      );
    }
  }
  // Legend: a row per series with its marker; the sweep's rows without a plottable point are left out.
  const lx = width - pad.r + 18;
  out.push(`<text x="${lx}" y="${pad.t}" font-weight="bold">mechanism / attack</text>`);
  series.forEach((name, si) => {
    const r = pts.find((p) => `${p.privatizer} / ${p.attack}` === name)!;
    const st = styleOf(r);
    const ly = pad.t + 20 + si * 20;
    out.push(`<line x1="${lx - 6}" y1="${ly - 4}" x2="${lx + 14}" y2="${ly - 4}" stroke="${st.color}" stroke-width="1.5"/>`);
    out.push(markerSvg(st.shape, st.hollow, lx + 4, ly - 4, st.color));
    out.push(`<text x="${lx + 22}" y="${ly}">${esc(name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

const BUDGET_SYMBOL: Record<string, string> = { eta: "η", sigma: "σ", b: "b" };

/** "η = 25", "σ = 0.5"; "—" for a mechanism without a budget. Rows without `budget` predate other budgets: η. */
export function budgetText(r: { budget?: string | null; eta: number | null }): string {
  if (r.eta === null) return "—";
  const name = r.budget ?? "eta";
  return `${BUDGET_SYMBOL[name] ?? name} = ${r.eta}`;
}

function pct(v: number, ci?: number): string {
  if (!Number.isFinite(v)) return "n/a";
  return `${(100 * v).toFixed(2)}%${ci !== undefined && Number.isFinite(ci) ? ` ± ${(100 * ci).toFixed(2)}` : ""}`;
}

/** One line per setting: the attack that recovered most, and the privacy left against it. */
export interface WorstCaseRow {
  privatizer: string;
  budget?: string | null;
  eta: number | null;
  split: number;
  accuracy: number;
  /** Accuracy minus the no-privacy accuracy at the same split (NaN without a "none" run). */
  accuracyChange: number;
  attack: string;
  token_recovery: number;
  empirical_privacy: number;
  /** (privacy − no-privacy privacy) / no-privacy privacy; NaN when undefined. */
  relativePrivacyGain: number;
}

/** Empirical privacy is only as good as the strongest attack: the worst case per setting. */
export function worstCase(rows: SweepSummaryRow[]): WorstCaseRow[] {
  const groups = new Map<string, SweepSummaryRow[]>();
  for (const r of rows) {
    if (!Number.isFinite(r.token_recovery)) continue; // attribute inference rows
    const k = `${r.privatizer}|${r.eta}|${r.split}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  // Per setting: the attack that recovered most, and the accuracy (an --attack-only row has none).
  const settings = [...groups.values()].map((g) => ({
    worst: g.reduce((a, b) => (b.token_recovery > a.token_recovery ? b : a)),
    accuracy: g.find((r) => Number.isFinite(r.accuracy))?.accuracy ?? Number.NaN,
  }));
  return settings.map(({ worst: w, accuracy }) => {
    const base = settings.find((x) => x.worst.privatizer === "none" && x.worst.split === w.split);
    const basePrivacy = base?.worst.empirical_privacy ?? Number.NaN;
    return {
      privatizer: w.privatizer,
      budget: w.budget,
      eta: w.eta,
      split: w.split,
      accuracy,
      accuracyChange: accuracy - (base?.accuracy ?? Number.NaN),
      attack: w.attack,
      token_recovery: w.token_recovery,
      empirical_privacy: w.empirical_privacy,
      relativePrivacyGain: basePrivacy > 0 ? (w.empirical_privacy - basePrivacy) / basePrivacy : Number.NaN,
    };
  });
}

function signed(v: number, digits: number, unit = ""): string {
  return Number.isFinite(v) ? `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}${unit}` : "n/a";
}

/** A settings value as a person reads it: `lora (rank 8, alpha 16)` for a {name, params} spec. */
function settingText(v: unknown): string {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.name === "string" && o.params && typeof o.params === "object") {
      const ps = Object.entries(o.params as Record<string, unknown>).map(([k, x]) => `${k} ${settingText(x)}`);
      return ps.length ? `${o.name} (${ps.join(", ")})` : o.name;
    }
    return Object.entries(o)
      .map(([k, x]) => `${k} ${settingText(x)}`)
      .join(", ");
  }
  if (Array.isArray(v)) return v.map(settingText).join(", ");
  return String(v);
}

export interface ReportExtras {
  /** The dev set's majority-class accuracy: the floor any classifier reaches without learning. */
  majority?: number;
  /** What each setting formally guarantees, measured at the cut on the run's own dev data. */
  guarantees?: GuaranteeRow[];
}

export interface GuaranteeRow {
  privatizer: string;
  budget?: string | null;
  eta: number | null;
  statement: string;
  noise_to_signal: number;
  releases_per_example: number;
}

function guaranteeLines(g: GuaranteeRow[]): string[] {
  return g.map(
    (r) =>
      `- **${r.privatizer}${r.eta === null ? "" : ` ${budgetText(r)}`}**: ${r.statement}; noise-to-signal ${Number.isFinite(r.noise_to_signal) ? r.noise_to_signal.toPrecision(3) : "n/a"}; each example released ${r.releases_per_example}×`,
  );
}

/** A Markdown table: a header row, the separator, then one row per entry. */
function markdownTable(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

function resultsTable(rows: SweepSummaryRow[]): string[] {
  const header = [
    "privatizer",
    "budget",
    "k",
    "attack",
    "accuracy",
    "token recovery",
    "empirical privacy",
    "F1",
    "exact sentences",
  ];
  return markdownTable(
    [...header, "canary PII recovered", "AIA success (majority)", "seeds"],
    rows.map((r) => [
      r.privatizer,
      budgetText(r),
      String(r.split),
      r.attack,
      pct(r.accuracy, r.accuracy_ci95),
      pct(r.token_recovery, r.token_recovery_ci95),
      pct(r.empirical_privacy),
      pct(r.f1),
      pct(r.exact_sentence),
      pct(r.canary_recovery),
      Number.isFinite(r.attack_success) ? `${pct(r.attack_success)} (${pct(r.attack_baseline)})` : "n/a",
      String(r.seeds),
    ]),
  );
}

function worstTable(worst: WorstCaseRow[]): string[] {
  const header = ["privatizer", "budget", "k", "accuracy", "change (points)", "strongest attack", "token recovery"];
  return markdownTable(
    [...header, "empirical privacy", "relative privacy gain"],
    worst.map((w) => [
      w.privatizer,
      budgetText(w),
      String(w.split),
      pct(w.accuracy),
      signed(100 * w.accuracyChange, 2),
      w.attack,
      pct(w.token_recovery),
      pct(w.empirical_privacy),
      signed(100 * w.relativePrivacyGain, 0, "%"),
    ]),
  );
}

const RESULTS_NOTE =
  "Intervals are 95% (Student t over seeds) where more than one seed ran. Every number comes from runs recorded in results.jsonl.";
const WORST_NOTE =
  "Empirical privacy is only as good as the strongest attack; relative gains are against no privacy at the same split.";

function majorityText(extras: ReportExtras): string | undefined {
  return extras.majority !== undefined && Number.isFinite(extras.majority)
    ? `Always predicting the dev set's most frequent class gives ${pct(extras.majority)} accuracy (the dashed line in the plot).`
    : undefined;
}

export function reportMarkdown(rows: SweepSummaryRow[], settings: Record<string, unknown>, extras: ReportExtras = {}): string {
  const worst = worstCase(rows);
  const majority = majorityText(extras);
  return [
    "# Privacy–utility report",
    "",
    "## Settings",
    "",
    ...Object.entries(settings).map(([k, v]) => `- ${k}: ${settingText(v)}`),
    "",
    "## Plot",
    "",
    "![privacy-utility plot](plot.svg)",
    "",
    ...(majority ? [majority, ""] : []),
    "## Results",
    "",
    ...resultsTable(rows),
    "",
    RESULTS_NOTE,
    "",
    ...(worst.length ? ["## Worst case over the attacks run", "", WORST_NOTE, "", ...worstTable(worst), ""] : []),
    ...(extras.guarantees?.length ? ["## What each setting guarantees", "", ...guaranteeLines(extras.guarantees), ""] : []),
  ].join("\n");
}

/** A Markdown table (header, rule, rows) as an HTML table. */
function htmlTable(md: string[]): string {
  const cells = (l: string): string[] =>
    l
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
  const [head, , ...body] = md;
  return [
    "<table>",
    `<thead><tr>${cells(head!)
      .map((c) => `<th>${esc(c)}</th>`)
      .join("")}</tr></thead>`,
    "<tbody>",
    ...body.map(
      (l) =>
        `<tr>${cells(l)
          .map((c) => `<td>${esc(c)}</td>`)
          .join("")}</tr>`,
    ),
    "</tbody></table>",
  ].join("\n");
}

const CSS = [
  "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.4}",
  "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}",
  "dl{display:grid;grid-template-columns:max-content auto;gap:.25em 1.2em}dt{font-weight:600}dd{margin:0}",
  "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}td{white-space:nowrap}",
  "th{background:#f4f4f4}tbody tr:nth-child(even){background:#fafafa}",
  ".scroll{overflow-x:auto}svg{max-width:100%;height:auto}",
].join("");

export function writeReport(
  dir: string,
  rows: SweepSummaryRow[],
  settings: Record<string, unknown>,
  extras: ReportExtras = {},
): void {
  const svg = privacyUtilitySvg(rows, { majority: extras.majority });
  writeFileSync(join(dir, "plot.svg"), svg);
  writeFileSync(join(dir, "report.md"), reportMarkdown(rows, settings, extras));
  const worst = worstCase(rows);
  const majority = majorityText(extras);
  const html = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sap privacy–utility report</title><style>${CSS}</style></head><body>`,
    "<h1>Privacy–utility report</h1>",
    "<h2>Settings</h2>",
    `<dl>${Object.entries(settings)
      .map(([k, v]) => `<dt>${esc(k.replace(/_/g, " "))}</dt><dd>${esc(settingText(v))}</dd>`)
      .join("")}</dl>`,
    "<h2>Plot</h2>",
    svg,
    ...(majority ? [`<p>${esc(majority)}</p>`] : []),
    "<h2>Results</h2>",
    `<div class="scroll">${htmlTable(resultsTable(rows))}</div>`,
    `<p>${esc(RESULTS_NOTE)}</p>`,
    ...(worst.length
      ? [
          "<h2>Worst case over the attacks run</h2>",
          `<p>${esc(WORST_NOTE)}</p>`,
          `<div class="scroll">${htmlTable(worstTable(worst))}</div>`,
        ]
      : []),
    ...(extras.guarantees?.length
      ? [
          "<h2>What each setting guarantees</h2>",
          `<ul>${guaranteeLines(extras.guarantees)
            .map((l) => `<li>${esc(l.slice(2).replace(/\*\*/g, ""))}</li>`)
            .join("")}</ul>`,
        ]
      : []),
    "</body></html>",
    "",
  ].join("\n");
  writeFileSync(join(dir, "report.html"), html);
}
