// How much of the customer's text an attack recovered: token precision/recall/F1 over
// non-special tokens (as bags per sentence, so an attack that outputs fewer guesses is not
// rewarded for it), exact sentence recovery, and empirical privacy = 1 − recall.

export interface RecoveryCounts {
  /** Correct guesses (multiset intersection per sentence). */
  hits: number;
  /** Guesses made on non-special positions. */
  guesses: number;
  /** True non-special tokens. */
  truths: number;
  sentences: number;
  exactSentences: number;
}

export interface RecoveryMetrics {
  precision: number;
  recall: number;
  f1: number;
  exactSentenceRate: number;
  /** 1 − recall: the share of private tokens the attack did not recover. */
  empiricalPrivacy: number;
  tokens: number;
  sentences: number;
}

export function emptyCounts(): RecoveryCounts {
  return { hits: 0, guesses: 0, truths: 0, sentences: 0, exactSentences: 0 };
}

/**
 * Adds one batch: `truth` and `guess` are [B, T] token ids; positions with mask 0 or a special
 * id are skipped; a guess of −1 means "no guess".
 */
export function addRecovery(
  c: RecoveryCounts,
  truth: Int32Array,
  guess: Int32Array,
  mask: Int32Array,
  B: number,
  T: number,
  specials: ReadonlySet<number>,
): void {
  for (let b = 0; b < B; b++) {
    const want = new Map<number, number>();
    let exact = true;
    let n = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (!mask[i] || specials.has(truth[i]!)) continue;
      want.set(truth[i]!, (want.get(truth[i]!) ?? 0) + 1);
      c.truths++;
      n++;
      if (guess[i] !== truth[i]) exact = false;
    }
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (!mask[i] || specials.has(truth[i]!) || guess[i]! < 0) continue;
      c.guesses++;
      const left = want.get(guess[i]!) ?? 0;
      if (left > 0) {
        c.hits++;
        want.set(guess[i]!, left - 1);
      }
    }
    c.sentences++;
    if (exact && n > 0) c.exactSentences++;
  }
}

export function recoveryMetrics(c: RecoveryCounts): RecoveryMetrics {
  const precision = c.guesses ? c.hits / c.guesses : 0;
  const recall = c.truths ? c.hits / c.truths : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return {
    precision,
    recall,
    f1,
    exactSentenceRate: c.sentences ? c.exactSentences / c.sentences : 0,
    empiricalPrivacy: 1 - recall,
    tokens: c.truths,
    sentences: c.sentences,
  };
}
