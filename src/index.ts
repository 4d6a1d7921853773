// sap-finetune: Split-and-Privatize fine-tuning. The public, typed API.
export * from "./tensor/index.js";
