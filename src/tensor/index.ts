export * from "./tensor.js";
export * as ops from "./ops.js";
export { native, engineInfo } from "./native.js";
export { Module } from "./module.js";
export { Linear, LayerNorm, Embedding, Dropout } from "./layers.js";
export { Rng, init } from "./random.js";
export { AdamW, clipGradNorm, linearWarmupDecay, gradsAreFinite } from "./optim.js";
export * from "./safetensors.js";
export { gradcheck, randTensor } from "./gradcheck.js";
