export {
  finetune,
  finetuneReport,
  collate,
  buildPrivatizer,
  preparePeft,
  evaluateAccuracy,
  type FinetuneOptions,
  type FinetuneResult,
  type MechanismSpec,
} from "./finetune.js";
export { predictTexts, type Prediction } from "./predict.js";
