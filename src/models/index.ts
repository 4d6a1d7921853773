export * from "./types.js";
export * from "./config.js";
export * from "./model.js";
export * from "./split-adapter.js";
export * from "./checkpoint.js";
export { verifyModelDir, relErr, goldenBatch, type VerifyResult } from "./verify.js";
export { BertForSequenceClassification, RobertaForSequenceClassification, BertForMaskedLM, BertModel, BertLayer } from "./bert.js";
export { DistilBertForSequenceClassification } from "./distilbert.js";
export { GPT2LMHeadModel, GPT2ForSequenceClassification } from "./gpt2.js";
