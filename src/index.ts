// sap-finetune: Split-and-Privatize fine-tuning. The public, typed API.
export * from "./tensor/index.js";
export * from "./models/index.js";
export * from "./models/tokenizers/index.js";
export * from "./privacy/index.js";
export * from "./peft/index.js";
export * from "./split/index.js";
export * from "./wire/index.js";
export * from "./data/index.js";
export { finetune, predictTexts, type FinetuneOptions, type FinetuneResult } from "./train/index.js";
export { pretrain, PRESETS, type PretrainOptions } from "./train/pretrain.js";
export { NearestNeighbourAttack } from "./attacks/nearest.js";
export { LearnedInversionAttack } from "./attacks/learned.js";
export { recoveryMetrics, addRecovery, emptyCounts } from "./attacks/metrics.js";
export { runPrivacySweep } from "./eval/sweep.js";
