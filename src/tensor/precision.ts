// The process-wide GEMM precision, as PyTorch's CPU autocast applies it: with bf16, matrix
// products (linear layers, attention) round their operands to bf16 and accumulate in fp32;
// everything else (softmax, LayerNorm, GELU, losses, optimizer state, master weights) stays fp32.
import { native } from "./native.js";

export type Precision = "auto" | "bf16" | "fp32";
export const PRECISIONS: readonly Precision[] = ["auto", "bf16", "fp32"];

// fp32 by default so golden numbers and existing runs are unchanged.
let useBf16 = false;

/** Whether this build and CPU can run bf16 products (oneDNN + AVX512_BF16). */
export function bf16Available(): boolean {
  return native.info().bf16;
}

/**
 * Sets the GEMM precision for later ops. "auto": bf16 where available, else fp32; "bf16" throws
 * where it is not available (a silent fp32 run would be mistaken for a bf16 one).
 */
export function setPrecision(p: Precision): void {
  if (!PRECISIONS.includes(p)) throw new Error(`precision must be one of ${PRECISIONS.join(", ")}, got ${String(p)}`);
  if (p === "bf16" && !bf16Available()) {
    const info = native.info();
    throw new Error(
      `precision bf16 needs the oneDNN backend and a CPU with AVX512_BF16 (backend: ${info.backend}); use auto or fp32`,
    );
  }
  useBf16 = p === "bf16" || (p === "auto" && bf16Available());
}

/** The precision in effect ("bf16" or "fp32"; "auto" resolved). */
export function getPrecision(): "bf16" | "fp32" {
  return useBf16 ? "bf16" : "fp32";
}

/** For ops.ts: pass as the bf16 field of gemm/attention calls. */
export function gemmBf16(): boolean {
  return useBf16;
}
