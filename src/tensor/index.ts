// The tensor engine's public surface: tensors, ops, layers, optimisers, checkpoints, and the
// few engine facts (engineInfo, setThreads) code outside src/tensor may use.
export * from "./tensor.js";
export { tidy, keep, alloc, allocZeroed, release, memoryStats, trimPool } from "./memory.js";
export * as ops from "./ops.js";
// The addon itself stays inside src/tensor (test/tensor/rooms.test.ts checks); what others need of it:
export { engineInfo, setThreads, type NativeInfo } from "./native.js";
export { setPrecision, getPrecision, bf16Available, PRECISIONS, type Precision } from "./precision.js";
export { Module, ModuleList } from "./module.js";
export { Linear, LayerNorm, Embedding, Dropout, type LinearAdapter } from "./layers.js";
export { Rng, NormalSampler, init, withDeferredInit, materializeInit, type RngState } from "./random.js";
export { AdamW, clipGradNorm, linearWarmupDecay, gradsAreFinite } from "./optim.js";
export * from "./safetensors.js";
export { gradcheck, randTensor } from "./gradcheck.js";
export { nearestRows, rowSquaredNorms, type NearestMetric, type NearestRowsOptions, type NearestRowsResult } from "./nearest.js";
