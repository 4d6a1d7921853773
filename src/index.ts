// sap-finetune: Split-and-Privatize fine-tuning. The public, typed API.
export * from "./tensor/index.js";
export * from "./models/index.js";
export { LoraAdapter, type LoraParams } from "./peft/lora/layer.js";
