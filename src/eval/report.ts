// The privacy–utility report: an SVG scatter (empirical privacy vs accuracy, one series per
// mechanism and attack), a Markdown and an HTML page with the table, the plot and the settings.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SweepSummaryRow } from "./types.js";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Scatter of (empirical privacy, accuracy) per setting; one colour per mechanism + attack. */
export function privacyUtilitySvg(rows: SweepSummaryRow[], width = 640, height = 420): string {
  const pad = { l: 60, r: 170, t: 30, b: 50 };
  const pts = rows.filter(
    (r) => Number.isFinite(r.accuracy) && Number.isFinite(r.empirical_privacy) && !Number.isFinite(r.attack_success),
  );
  const accs = pts.map((r) => r.accuracy);
  const yMin = Math.max(0, Math.min(...accs, 1) - 0.05);
  const yMax = Math.min(1, Math.max(...accs, 0) + 0.05);
  const x = (v: number): number => pad.l + v * (width - pad.l - pad.r);
  const y = (v: number): number => pad.t + (1 - (v - yMin) / Math.max(1e-9, yMax - yMin)) * (height - pad.t - pad.b);
  const series = [...new Set(pts.map((r) => `${r.privatizer} / ${r.attack}`))];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad.l}" y="18" font-size="14">Privacy–utility: empirical privacy (1 − token recovery) vs accuracy</text>`,
    `<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="black"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    out.push(`<text x="${x(v)}" y="${height - pad.b + 16}" text-anchor="middle">${v.toFixed(1)}</text>`);
    const a = yMin + (i / 5) * (yMax - yMin);
    out.push(`<text x="${pad.l - 6}" y="${y(a) + 4}" text-anchor="end">${(100 * a).toFixed(0)}%</text>`);
    out.push(`<line x1="${pad.l}" y1="${y(a)}" x2="${width - pad.r}" y2="${y(a)}" stroke="#eee"/>`);
  }
  out.push(`<text x="${(pad.l + width - pad.r) / 2}" y="${height - 12}" text-anchor="middle">empirical privacy</text>`);
  out.push(
    `<text x="14" y="${(pad.t + height - pad.b) / 2}" transform="rotate(-90 14 ${(pad.t + height - pad.b) / 2})" text-anchor="middle">accuracy</text>`,
  );
  series.forEach((name, si) => {
    const c = COLORS[si % COLORS.length]!;
    const ps = pts
      .filter((r) => `${r.privatizer} / ${r.attack}` === name)
      .sort((a, b) => a.empirical_privacy - b.empirical_privacy);
    if (ps.length > 1)
      out.push(
        `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${ps.map((r) => `${x(r.empirical_privacy)},${y(r.accuracy)}`).join(" ")}"/>`,
      );
    for (const r of ps)
      out.push(
        `<circle cx="${x(r.empirical_privacy)}" cy="${y(r.accuracy)}" r="4" fill="${c}"><title>${esc(`${name} ${budgetText(r)}: acc ${(100 * r.accuracy).toFixed(2)}%, recovery ${(100 * r.token_recovery).toFixed(2)}%`)}</title></circle>`,
      );
    out.push(`<rect x="${width - pad.r + 12}" y="${pad.t + si * 18}" width="10" height="10" fill="${c}"/>`);
    out.push(`<text x="${width - pad.r + 28}" y="${pad.t + si * 18 + 9}">${esc(name)}</text>`);
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

export function reportMarkdown(rows: SweepSummaryRow[], settings: Record<string, unknown>): string {
  const worst = worstCase(rows);
  return [
    "# Privacy–utility report",
    "",
    "Settings: " +
      Object.entries(settings)
        .map(([k, v]) => `${k} = ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join("; "),
    "",
    "![privacy-utility plot](plot.svg)",
    "",
    "| privatizer | budget | k | attack | accuracy | token recovery | empirical privacy | F1 | exact sentences | canary PII recovered | AIA success (majority) | seeds |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.privatizer} | ${budgetText(r)} | ${r.split} | ${r.attack} | ${pct(r.accuracy, r.accuracy_ci95)} | ${pct(r.token_recovery, r.token_recovery_ci95)} | ${pct(r.empirical_privacy)} | ${pct(r.f1)} | ${pct(r.exact_sentence)} | ${pct(r.canary_recovery)} | ${Number.isFinite(r.attack_success) ? `${pct(r.attack_success)} (${pct(r.attack_baseline)})` : "n/a"} | ${r.seeds} |`,
    ),
    "",
    "Intervals are 95% (Student t over seeds) where more than one seed ran. Every number comes from runs recorded in results.jsonl.",
    "",
    ...(worst.length
      ? [
          "## Worst case over the attacks run",
          "",
          "Empirical privacy is only as good as the strongest attack; relative gains are against no privacy at the same split.",
          "",
          "| privatizer | budget | k | accuracy | change (points) | strongest attack | token recovery | empirical privacy | relative privacy gain |",
          "|---|---|---|---|---|---|---|---|---|",
          ...worst.map(
            (w) =>
              `| ${w.privatizer} | ${budgetText(w)} | ${w.split} | ${pct(w.accuracy)} | ${signed(100 * w.accuracyChange, 2)} | ${w.attack} | ${pct(w.token_recovery)} | ${pct(w.empirical_privacy)} | ${signed(100 * w.relativePrivacyGain, 0, "%")} |`,
          ),
          "",
        ]
      : []),
  ].join("\n");
}

export function writeReport(dir: string, rows: SweepSummaryRow[], settings: Record<string, unknown>): void {
  const svg = privacyUtilitySvg(rows);
  writeFileSync(join(dir, "plot.svg"), svg);
  const md = reportMarkdown(rows, settings);
  writeFileSync(join(dir, "report.md"), md);
  // Each markdown table (consecutive "|" lines) becomes one HTML table.
  const tables: string[][] = [];
  let current: string[] | null = null;
  for (const l of md.split("\n")) {
    if (!l.startsWith("|")) {
      current = null;
      continue;
    }
    if (!current) tables.push((current = []));
    if (!l.startsWith("|---")) current.push(l);
  }
  const table = tables
    .map(
      (t) =>
        `<table>${t
          .map(
            (l, i) =>
              `<tr>${l
                .split("|")
                .slice(1, -1)
                .map((c) => (i === 0 ? `<th>${esc(c.trim())}</th>` : `<td>${esc(c.trim())}</td>`))
                .join("")}</tr>`,
          )
          .join("\n")}</table>`,
    )
    .join("\n<p></p>\n");
  writeFileSync(
    join(dir, "report.html"),
    `<!doctype html><html><head><meta charset="utf-8"><title>sap privacy report</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body><h1>Privacy–utility report</h1><p>${esc(
      JSON.stringify(settings),
    )}</p>${svg}${table}</body></html>\n`,
  );
}
