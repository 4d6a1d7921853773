// `sap client finetune|predict|jobs|status|cancel`: the customer's side over the network. The
// text, token ids and noise stay on this machine; only privatized batches go to the server.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sapCacheDir } from "../cache.js";
import { DATA_OPTIONS, OUTPUT_OPTIONS, mechanismOptions, peftOptions, trainingOptions, trainingSpecFrom } from "../flags.js";
import { UsageError, required, type Command } from "../options.js";
import { printJson, printLine, printPredictions, terminalProgress } from "../render.js";

export const command: Command = {
  name: "client",
  summary: "the customer side of SAP against a sap serve: fine-tune, predict, list, inspect and cancel jobs",
  usage: [
    "sap client finetune --server URL --key KEY --model NAME --split K (--task NAME | --train FILE ...) [options]",
    'sap client predict --server URL --key KEY --job ID --text "..."',
    "sap client jobs|status ID|cancel ID --server URL --key KEY",
  ],
  options: () => [
    {
      name: "server",
      type: "string",
      placeholder: "URL",
      help: "the vendor's service (https://...; http only on loopback)",
      group: "Connection",
    },
    {
      name: "key",
      type: "string",
      placeholder: "KEY",
      help: "API key (or $SAP_API_KEY; never put it in a URL)",
      group: "Connection",
    },
    { name: "ca", type: "string", placeholder: "PEM", help: "a CA or self-signed certificate to trust", group: "Connection" },
    { name: "model", type: "string", placeholder: "NAME", help: "finetune: a model from the server's catalogue" },
    { name: "job", type: "string", placeholder: "ID", help: "finetune: continue this job; predict: the job to use" },
    { name: "text", type: "string", multiple: true, placeholder: "TEXT", help: "predict: a text to classify" },
    { name: "wire-dtype", type: "string", choices: ["f32", "f16"], default: "f32", help: "how representations travel" },
    {
      name: "cache",
      type: "string",
      placeholder: "DIR",
      default: join(sapCacheDir(), "bottoms"),
      help: "where downloaded bottoms and CTI tables are kept ($SAP_CACHE_DIR/bottoms when set, else the platform's cache folder)",
    },
    { name: "dump-wire", type: "string", placeholder: "FILE", help: "append every frame sent to FILE" },
    {
      name: "upload",
      type: "boolean",
      help: "finetune: privatize the training set once, upload it (resumable with --job) and let the vendor train it in the background",
    },
    {
      name: "detach",
      type: "boolean",
      help: "finetune --upload: exit once training has started (later: the same command with --job ID evaluates it)",
    },
    {
      name: "chunk-examples",
      type: "int",
      min: 1,
      max: 4096,
      default: 64,
      placeholder: "N",
      help: "finetune --upload: examples per uploaded chunk",
    },
    ...DATA_OPTIONS,
    ...trainingOptions(),
    ...mechanismOptions(),
    ...peftOptions(),
    ...OUTPUT_OPTIONS,
  ],
  examples: [
    "sap client finetune --server https://vendor.example:8750 --key $KEY --model sap-bert-mini --split 2 --task sst2 --privatizer cti --eta 100",
    'sap client predict --server https://vendor.example:8750 --key $KEY --job job_abc --text "a fine film"',
  ],
  async run(args) {
    const v = args.values;
    const [sub, arg, extra] = args.positionals;
    if (!sub || !["finetune", "predict", "jobs", "status", "cancel"].includes(sub) || extra !== undefined)
      throw new UsageError("usage: sap client finetune|predict|jobs|status ID|cancel ID --server URL --key KEY");
    const server = required<string>(args, "server", "URL");
    const key = (v.key as string | undefined) ?? process.env.SAP_API_KEY;
    if (!key) throw new UsageError("--key KEY (or SAP_API_KEY) is required");
    if ((sub === "status" || sub === "cancel") && !arg)
      throw new UsageError(`usage: sap client ${sub} ID --server URL --key KEY`);
    const dtype = v["wire-dtype"] as "f32" | "f16";
    const spec = sub === "finetune" ? trainingSpecFrom(args) : undefined;
    const { SapClient } = await import("../../client/sdk.js");
    const progress = v.quiet ? undefined : terminalProgress();
    const client = new SapClient({
      server,
      key,
      ca: v.ca ? readFileSync(v.ca as string) : undefined,
      onRetry: (reason, attempt) =>
        progress?.({ task: "client", done: 0, total: 1, unit: "", message: `connection problem (${reason}); retry ${attempt}` }),
    });
    try {
      if (sub === "finetune") {
        const model = required<string>(args, "model", "NAME (a name from the server's catalogue)");
        // What both the per-step and the upload path take from the command line.
        const job = {
          client,
          model,
          ...spec!,
          wireDtype: dtype,
          cacheDir: v.cache as string,
          jobId: v.job as string | undefined,
          onProgress: progress,
        };
        if (v.upload) {
          const { clientUpload } = await import("../../client/upload.js");
          const res = await clientUpload({ ...job, chunkExamples: v["chunk-examples"] as number, wait: v.detach !== true });
          const u = res.upload;
          if (v.json) printJson(res);
          else
            printLine(
              `job ${res.jobId} ${res.status}: uploaded ${u.chunksSent}/${u.chunks} chunks (${u.chunksSkipped} already held), ` +
                `${u.bytes} bytes at ${u.mbPerSecond.toFixed(2)} MB/s` +
                (Number.isNaN(res.dev_accuracy) ? "" : `; dev accuracy ${(100 * res.dev_accuracy).toFixed(2)}%`),
            );
          return;
        }
        if (v.detach) throw new UsageError("--detach goes with --upload");
        const { clientFinetune } = await import("../../client/finetune.js");
        const res = await clientFinetune({ ...job, dumpWire: v["dump-wire"] as string | undefined });
        const { stepLatencyMs, ...summary } = res;
        const sorted = [...stepLatencyMs].sort((a, b) => a - b);
        if (v.json) printJson({ ...summary, step_latency_p50_ms: sorted[Math.floor(sorted.length / 2)] ?? null });
        else
          printLine(
            `done: job ${res.jobId}, dev accuracy ${(100 * res.dev_accuracy).toFixed(2)}%, ${Math.round(res.bytesPerStep)} bytes/step`,
          );
      } else if (sub === "predict") {
        const jobId = (v.job as string | undefined) ?? arg;
        const texts = (v.text as string[] | undefined) ?? [];
        if (!jobId || !texts.length)
          throw new UsageError('usage: sap client predict --job ID --text "..." --server URL --key KEY');
        const { clientPredict } = await import("../../client/finetune.js");
        const preds = await clientPredict(client, jobId, texts, {
          cacheDir: v.cache as string,
          noiseSeed: v["noise-seed"] as number | undefined,
          wireDtype: dtype,
          ctiTable: v["cti-table"] as string | undefined,
        });
        printPredictions(preds, v.json === true);
      } else if (sub === "jobs") printJson(await client.listJobs());
      else if (sub === "status") printJson(await client.job(arg!));
      else printJson(await client.cancel(arg!));
    } finally {
      client.close();
    }
  },
};
