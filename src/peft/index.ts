// Parameter-efficient fine-tuning methods, one folder each, registered by name on import.
export * from "./types.js";
export * from "./registry.js";
export * from "./targets.js";
export * from "./io.js";
export * from "./hf-peft.js";
export { lora, LoraAdapter, type LoraParams } from "./lora/index.js";
export { adapter, BottleneckAdapter } from "./adapter/index.js";
export { prompt, SoftTokens } from "./prompt/index.js";
export { prefix } from "./prefix/index.js";
export { bitfit } from "./bitfit/index.js";
export { full } from "./full/index.js";
