// `sap model verify DIR` (against the directory's golden.json, a PyTorch reference) and
// `sap model card DIR` (a model README from its recorded pre-training metrics).
import { verifyModelDir } from "../../models/verify.js";
import { UsageError, type Command } from "../options.js";
import { printJson, printLine } from "../render.js";

export const command: Command = {
  name: "model",
  summary: "verify a model directory against its golden.json (PyTorch reference), or write its model card",
  usage: ["sap model verify DIR [--json]", "sap model card DIR [--command CMD] [--note TEXT]"],
  options: () => [
    { name: "json", type: "boolean", help: "verify: print the result as one JSON object" },
    { name: "command", type: "string", placeholder: "CMD", help: "card: the command that reproduces the pre-training" },
    { name: "note", type: "string", placeholder: "TEXT", help: "card: a paragraph to add" },
  ],
  examples: [
    "sap model verify ../shared/fixtures/tiny-bert",
    "sap model card models/sap-bert-mini > models/sap-bert-mini/README.md",
  ],
  async run(args) {
    const [sub, dir, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
    if (sub === "card" && dir) {
      const { writeModelCard } = await import("../../train/model-card.js");
      process.stdout.write(
        writeModelCard(dir, args.values.command as string | undefined, args.values.note as string | undefined),
      );
      return;
    }
    if (sub !== "verify" || !dir)
      throw new UsageError("usage: sap model verify DIR [--json] | sap model card DIR [--command CMD]");
    const res = verifyModelDir(dir);
    if (args.values.json) printJson(res);
    else {
      for (const [k, v] of Object.entries(res.errors)) printLine(`${k.padEnd(64)} ${v.toExponential(2)}`);
      printLine(
        `max relative error ${res.max_rel_err.toExponential(2)} (${res.max_rel_err <= 1e-4 ? "OK" : "FAIL"}: tolerance 1e-4)`,
      );
    }
    if (res.max_rel_err > 1e-4) process.exitCode = 1;
  },
};
