// The rows a privacy sweep records (one per cell, seed and attack) and summarises (over seeds);
// shared by the sweep and its report.

export interface SweepRow {
  privatizer: string;
  /** The mechanism's budget parameter (eta, sigma, b...), null for none. */
  budget?: string | null;
  /** That parameter's value (the column is named eta for the results written before other budgets). */
  eta: number | null;
  split: number;
  attack: string;
  seed: number;
  accuracy: number;
  token_recovery: number;
  precision: number;
  f1: number;
  exact_sentence: number;
  empirical_privacy: number;
  tokens: number;
  /** Share of planted personal-data tokens recovered (NaN when no canaries). */
  canary_recovery: number;
  /** Attribute inference: accuracy and the majority-class baseline (NaN for inversion attacks). */
  attack_success: number;
  attack_baseline: number;
  /** Multi-release attacks: share of an example's copies the vendor linked right (absent otherwise). */
  linkage?: number;
}

export interface SweepSummaryRow {
  privatizer: string;
  budget?: string | null;
  eta: number | null;
  split: number;
  attack: string;
  accuracy: number;
  accuracy_ci95: number;
  token_recovery: number;
  token_recovery_ci95: number;
  empirical_privacy: number;
  f1: number;
  exact_sentence: number;
  canary_recovery: number;
  attack_success: number;
  attack_baseline: number;
  seeds: number;
}
