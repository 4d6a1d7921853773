// What a parameter-efficient method gives the training loop: the parameters to train, hooks
// into the top model's forward pass (soft prompts), and merge/unmerge where the method allows.
import type { LayerContext, SplittableModel } from "../models/model.js";
import type { Declared } from "../params/index.js";
import type { Rng, Tensor } from "../tensor/index.js";

export type PeftParams = Record<string, number | string | boolean | string[]>;

/** Changes to the hidden sequence around the top's layers (prompt and prefix tuning). */
export interface TopHooks {
  /** Before the first top layer. */
  input?(h: Tensor, ctx: LayerContext): { h: Tensor; ctx: LayerContext };
  beforeLayer?(i: number, h: Tensor, ctx: LayerContext): { h: Tensor; ctx: LayerContext };
  afterLayer?(i: number, h: Tensor, ctx: LayerContext): { h: Tensor; ctx: LayerContext };
}

export interface PeftInstance {
  readonly method: string;
  readonly params: PeftParams;
  /** Trainable parameters by checkpoint name (the task head included). */
  trainable(): Array<[string, Tensor]>;
  hooks: TopHooks;
  merge?(): void;
  unmerge?(): void;
}

export interface PeftMethod extends Declared {
  /** Adds the method's modules to layers split..L-1 of the model and returns the handle. */
  apply(model: SplittableModel, split: number, params: PeftParams, rng: Rng): PeftInstance;
}
