export { finetune, finetuneReport, evaluateAccuracy, type FinetuneOptions, type FinetuneResult } from "./finetune.js";
export { predictTexts, type Prediction } from "./predict.js";
