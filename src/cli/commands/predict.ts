// `sap predict`: a tuned adapter through the same split path as training (bottom -> privatizer -> top).
import { predictTexts } from "../../train/predict.js";
import { PRECISION_OPTION } from "../flags.js";
import { UsageError, required, type Command } from "../options.js";
import { printPredictions } from "../render.js";

export const command: Command = {
  name: "predict",
  summary: "classify texts with a tuned adapter, through the split path it was trained with",
  usage: ['sap predict --model DIR --adapter DIR --text "..." [--text "..."] [--json]'],
  options: () => [
    { name: "model", type: "string", placeholder: "DIR", help: "the base model directory the adapter was trained on" },
    { name: "adapter", type: "string", placeholder: "DIR", help: "an adapter directory (sap finetune's --out/adapter)" },
    { name: "text", type: "string", multiple: true, placeholder: "TEXT", help: "a text to classify" },
    { name: "noise-seed", type: "int", min: 0, help: "seeded privacy noise (experiments only)" },
    { name: "json", type: "boolean", help: "print the predictions as one JSON object" },
    PRECISION_OPTION,
  ],
  examples: ['sap predict --model models/sap-bert-mini --adapter runs/sst2-cti/adapter --text "a gripping, funny film"'],
  async run(args) {
    const model = required<string>(args, "model", "DIR");
    const adapter = required<string>(args, "adapter", "DIR");
    const texts = (args.values.text as string[] | undefined) ?? [];
    if (!texts.length) throw new UsageError('give at least one --text "..."');
    const preds = predictTexts(model, adapter, texts, { noiseSeed: args.values["noise-seed"] as number | undefined });
    printPredictions(preds, args.values.json === true);
  },
};
