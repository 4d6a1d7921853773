#!/usr/bin/env node
// `sap`: the command line, thin over the library. Each command parses its flags, calls the
// library, and renders progress events; with --json the last stdout line is one JSON object.
import { parseArgs } from "node:util";
import { benchEngine } from "../bench/engine.js";
import { verifyModelDir } from "../models/verify.js";
import { pretrain, PRESETS } from "../train/pretrain.js";
import { terminalProgress } from "./render.js";
import { finetune } from "../train/finetune.js";
import type { TrainingSpec } from "../split/spec.js";
import type { MechanismSpec } from "../wire/index.js";
import { predictTexts } from "../train/predict.js";
import { loadTask, loadUserDataset, taskNames, type Dataset } from "../data/index.js";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { batchToFrame } from "../wire/index.js";
import { join } from "node:path";

type Handler = (argv: string[]) => Promise<void>;

function printJson(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const commands: Record<string, { summary: string; run: Handler }> = {
  model: {
    summary: "model verify DIR [--json] | model card DIR   compare with golden.json (PyTorch reference) | write a model README",
    run: async (argv) => {
      const { values, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { json: { type: "boolean", default: false }, command: { type: "string" }, note: { type: "string" } },
      });
      const [sub, dir] = positionals;
      if (sub === "card" && dir) {
        const { writeModelCard } = await import("../train/model-card.js");
        process.stdout.write(writeModelCard(dir, values.command as string | undefined, values.note as string | undefined));
        return;
      }
      if (sub !== "verify" || !dir)
        throw new UsageError("usage: sap model verify DIR [--json] | sap model card DIR [--command CMD]");
      const res = verifyModelDir(dir);
      if (values.json) {
        printJson(res);
      } else {
        for (const [k, v] of Object.entries(res.errors)) process.stdout.write(`${k.padEnd(64)} ${v.toExponential(2)}\n`);
        process.stdout.write(
          `max relative error ${res.max_rel_err.toExponential(2)} (${res.max_rel_err <= 1e-4 ? "OK" : "FAIL"}: tolerance 1e-4)\n`,
        );
      }
      if (res.max_rel_err > 1e-4) process.exitCode = 1;
    },
  },
  demo: {
    summary: "demo [--model DIR] [--max-train N] [--epochs N] [--eta X]   SAP on SST-2: no privacy vs d_χ + CTI, a few minutes",
    run: async (argv) => {
      const { values } = parseArgs({
        args: argv,
        options: {
          model: { type: "string" },
          "data-dir": { type: "string" },
          "max-train": { type: "string", default: "6000" },
          epochs: { type: "string", default: "2" },
          eta: { type: "string", default: "100" },
          out: { type: "string", default: "runs/demo" },
        },
      });
      const { runDemo } = await import("./demo.js");
      await runDemo({
        modelDir: values.model,
        dataDir: values["data-dir"],
        maxTrain: positiveInt("--max-train", values["max-train"]),
        epochs: positiveInt("--epochs", values.epochs),
        eta: positiveNumber("--eta", values.eta),
        outDir: values.out!,
      });
    },
  },
  pretrain: {
    summary:
      "pretrain (--preset NAME | --config FILE | --model DIR) --data PATH... --out DIR [--steps N --batch-size B --seq-len T --lr X --resume ...]",
    run: async (argv) => {
      const { values } = parseArgs({
        args: argv,
        options: {
          preset: { type: "string" },
          config: { type: "string" },
          model: { type: "string" },
          tokenizer: { type: "string" },
          data: { type: "string", multiple: true },
          out: { type: "string" },
          "seq-len": { type: "string", default: "128" },
          "batch-size": { type: "string", default: "32" },
          steps: { type: "string", default: "1000" },
          lr: { type: "string", default: "5e-4" },
          warmup: { type: "string", default: "0.06" },
          "weight-decay": { type: "string", default: "0.01" },
          "mask-prob": { type: "string", default: "0.15" },
          clip: { type: "string", default: "1.0" },
          seed: { type: "string", default: "42" },
          "checkpoint-every": { type: "string", default: "200" },
          "eval-every": { type: "string", default: "500" },
          "heldout-blocks": { type: "string", default: "256" },
          "glove-init": { type: "string" },
          resume: { type: "boolean", default: false },
          json: { type: "boolean", default: false },
        },
      });
      if (!values.out) throw new UsageError("--out DIR is required");
      if (!values.data?.length) throw new UsageError("--data PATH is required (text files, .gz, .jsonl or folders; repeatable)");
      const sources = [values.preset, values.config, values.model].filter(Boolean).length;
      if (sources !== 1)
        throw new UsageError(`give exactly one of --preset (${Object.keys(PRESETS).join(", ")}), --config FILE or --model DIR`);
      const steps = positiveInt("--steps", values.steps);
      const warm = Number(values.warmup);
      if (!(warm >= 0))
        throw new UsageError(`--warmup must be a fraction of steps (< 1) or a step count, got "${values.warmup}"`);
      const { readFileSync } = await import("node:fs");
      const tokenizerDir = values.tokenizer ?? values.model;
      if (!tokenizerDir)
        throw new UsageError("--tokenizer DIR is required for a new model (a folder with vocab.txt or tokenizer.json)");
      const res = await pretrain({
        preset: values.preset,
        config: values.config ? (JSON.parse(readFileSync(values.config, "utf8")) as Record<string, unknown>) : undefined,
        modelDir: values.model,
        tokenizerDir,
        data: values.data,
        outDir: values.out,
        seqLen: positiveInt("--seq-len", values["seq-len"]),
        batchSize: positiveInt("--batch-size", values["batch-size"]),
        steps,
        lr: positiveNumber("--lr", values.lr),
        warmupSteps: warm < 1 ? Math.round(warm * steps) : Math.round(warm),
        weightDecay: Number(values["weight-decay"]),
        maskProb: positiveNumber("--mask-prob", values["mask-prob"]),
        clip: positiveNumber("--clip", values.clip),
        seed: nonNegativeInt("--seed", values.seed),
        checkpointEvery: positiveInt("--checkpoint-every", values["checkpoint-every"]),
        evalEvery: positiveInt("--eval-every", values["eval-every"]),
        heldoutBlocks: positiveInt("--heldout-blocks", values["heldout-blocks"]),
        gloveInit: values["glove-init"],
        resume: values.resume,
        onProgress: terminalProgress(),
      });
      const summary = {
        out: res.outDir,
        steps: res.step,
        tokens_seen: res.tokensSeen,
        train_seconds: Math.round(res.elapsedSeconds),
        ...res.final,
      };
      if (values.json) printJson(summary);
      else process.stdout.write(`pretrained ${res.outDir}: ${JSON.stringify(summary)}\n`);
    },
  },
  finetune: {
    summary:
      "finetune --model DIR (--task T | --train FILE ...) --split K --privatizer NAME [--eta X] --peft NAME [...] --epochs N --batch-size B --lr X --out DIR [--json]",
    run: async (argv) => {
      const { values } = parseArgs({ args: argv, options: { ...DATA_OPTIONS, ...MECHANISM_OPTIONS, ...TRAIN_OPTIONS } });
      const v = values as Record<string, string | boolean | undefined>;
      if (!v.model) throw new UsageError("--model DIR is required (a Hugging Face model directory, e.g. models/sap-bert-mini)");
      if (!v.out) throw new UsageError("--out DIR is required");
      const res = await finetune({
        modelDir: v.model as string,
        ...trainingSpecFrom(v),
        outDir: v.out as string,
        resume: v.resume === true,
        checkpointEvery: positiveInt("--checkpoint-every", v["checkpoint-every"] as string),
        randomInit: v["random-init"] === true,
        trainBottom: bottomFrom(v["train-bottom"] as string | undefined),
        onWire: dumpWire(v["dump-wire"] as string | undefined),
        onProgress: v.quiet ? undefined : terminalProgress(),
        onMetric: (rec) => {
          mkdirSync(v.out as string, { recursive: true });
          appendFileSync(join(v.out as string, "metrics.jsonl"), JSON.stringify(rec) + "\n");
        },
      });
      const summary = {
        dev_accuracy: res.dev_accuracy,
        best_dev_accuracy: res.best_dev_accuracy,
        best_epoch: res.best_epoch,
        train_seconds: Number(res.train_seconds.toFixed(2)),
        seconds_per_epoch: Number(res.seconds_per_epoch.toFixed(2)),
        examples_per_second: Number(res.examples_per_second.toFixed(1)),
        trainable_parameters: res.trainable_parameters,
        ...res.settings,
        cti: res.cti,
        out: res.outDir,
      };
      if (v.json) printJson(summary);
      else
        process.stdout.write(
          `done: best dev accuracy ${(100 * res.best_dev_accuracy).toFixed(2)}% (epoch ${res.best_epoch}); adapter, metrics.json and report.md in ${res.outDir}\n`,
        );
    },
  },
  predict: {
    summary: 'predict --model DIR --adapter DIR --text "..." [--text ...] [--json]   runs the tuned model through the split path',
    run: async (argv) => {
      const { values } = parseArgs({
        args: argv,
        options: {
          model: { type: "string" },
          adapter: { type: "string" },
          text: { type: "string", multiple: true },
          json: { type: "boolean", default: false },
          "noise-seed": { type: "string" },
        },
      });
      if (!values.model || !values.adapter || !values.text?.length)
        throw new UsageError('usage: sap predict --model DIR --adapter DIR --text "..."');
      const preds = predictTexts(values.model, values.adapter, values.text, {
        noiseSeed: values["noise-seed"] !== undefined ? nonNegativeInt("--noise-seed", values["noise-seed"]) : undefined,
      });
      if (values.json) printJson({ predictions: preds });
      else
        for (const p of preds)
          process.stdout.write(
            `${p.label}\t${Object.entries(p.probabilities)
              .map(([k, x]) => `${k}=${x.toFixed(3)}`)
              .join(" ")}\t${p.text}\n`,
          );
    },
  },
  eval: {
    summary:
      "eval privacy --model DIR --task T --split K --privatizers none,dchi,cti --etas 25,50,100 --attacks nn-l2,nn-cosine,mlp,transformer,optim[,aia-rating] [--seeds N] [--canaries N] --out DIR [--json]",
    run: async (argv) => {
      const { values, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          ...DATA_OPTIONS,
          model: { type: "string" },
          split: { type: "string", default: "2" },
          privatizers: { type: "string", default: "none,dchi,cti" },
          etas: { type: "string", default: "25,50,100,200" },
          // The optimisation attack is the strongest behind k >= 1 layers (experiments/privacy-mini-v2): on by default.
          attacks: { type: "string", default: "nn-l2,mlp,optim" },
          seeds: { type: "string", default: "1" },
          public: { type: "string", multiple: true },
          "max-public": { type: "string", default: "4000" },
          peft: { type: "string", default: "lora" },
          epochs: { type: "string", default: "1" },
          "batch-size": { type: "string", default: "32" },
          lr: { type: "string", default: "1e-3" },
          "max-seq-len": { type: "string", default: "64" },
          seed: { type: "string", default: "42" },
          "attack-only": { type: "boolean", default: false },
          canaries: { type: "string", default: "32" },
          out: { type: "string" },
          json: { type: "boolean", default: false },
        },
      });
      if (positionals[0] !== "privacy") throw new UsageError("usage: sap eval privacy --model DIR --task T ... --out DIR");
      if (!values.model || !values.out) throw new UsageError("--model DIR and --out DIR are required");
      const v = values as Record<string, string | boolean | string[] | undefined>;
      const dataset = loadDataset(v as Record<string, string | boolean | undefined>, nonNegativeInt("--seed", values.seed));
      const { readDocuments } = await import("../train/corpus.js");
      const publicFiles = values.public ?? [
        join(
          values["data-dir"] ?? join(process.cwd(), "..", "shared", "data"),
          "corpora",
          "brown",
          "brown_sentences_untagged.txt",
        ),
      ];
      const maxPublic = positiveInt("--max-public", values["max-public"]);
      const publicTexts = publicFiles
        .flatMap((f) => readDocuments(f))
        .flatMap((d) => d.split("\n"))
        .filter((l) => l.trim().length > 0)
        .slice(0, maxPublic);
      const { runPrivacySweep } = await import("../eval/sweep.js");
      const list = (x: string | undefined): string[] =>
        (x ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
      const { summary } = await runPrivacySweep({
        modelDir: values.model,
        dataset,
        split: nonNegativeInt("--split", values.split),
        privatizers: list(values.privatizers),
        etas: list(values.etas).map((e) => positiveNumber("--etas", e)),
        attacks: list(values.attacks),
        seeds: positiveInt("--seeds", values.seeds),
        publicTexts,
        peft: { name: values.peft!, params: {} },
        epochs: positiveInt("--epochs", values.epochs),
        batchSize: positiveInt("--batch-size", values["batch-size"]),
        lr: positiveNumber("--lr", values.lr),
        maxSeqLen: positiveInt("--max-seq-len", values["max-seq-len"]),
        outDir: values.out,
        attackOnly: values["attack-only"],
        canaries: nonNegativeInt("--canaries", values.canaries),
        onProgress: terminalProgress(),
      });
      if (values.json) printJson({ results: summary });
      else process.stdout.write(`report: ${join(values.out, "report.md")} (and report.html, plot.svg, results.json/csv)\n`);
    },
  },
  bench: {
    summary:
      "bench engine [--json] [--rounds N] [--iters N] [--no-torch] | bench service --model DIR [--customers 8] [--max-train N] [--server-threads N --client-threads N]",
    run: async (argv) => {
      const { values, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          json: { type: "boolean", default: false },
          rounds: { type: "string", default: "3" },
          iters: { type: "string", default: "3" },
          warmup: { type: "string", default: "1" },
          batch: { type: "string", default: "16" },
          seq: { type: "string", default: "64" },
          "no-torch": { type: "boolean", default: false },
          // bench service
          model: { type: "string" },
          task: { type: "string", default: "sst2" },
          "data-dir": { type: "string" },
          // bench service: 2,048 sentences = 64 steps per customer, so per-job set-up is not all it measures.
          "max-train": { type: "string", default: "2048" },
          customers: { type: "string", default: "8" },
          "server-threads": { type: "string" },
          "client-threads": { type: "string" },
        },
      });
      if (positionals[0] === "service") {
        if (!values.model) throw new UsageError("bench service needs --model DIR (a small model, e.g. a tiny BERT)");
        if (!process.argv.includes("--batch")) values.batch = "32";
        if (!process.argv.includes("--seq")) values.seq = "32";
      }
      const which = positionals[0] ?? "engine";
      if (which === "service") {
        const { benchService } = await import("../bench/service.js");
        const res = await benchService({
          modelDir: values.model ?? "",
          dataset: loadTask(values.task, {
            dataDir: values["data-dir"],
            maxTrain: positiveInt("--max-train", values["max-train"]),
            maxEval: 64,
            seed: 1,
          }),
          customers: positiveInt("--customers", values.customers),
          serverThreads: values["server-threads"] ? positiveInt("--server-threads", values["server-threads"]) : undefined,
          clientThreads: values["client-threads"] ? positiveInt("--client-threads", values["client-threads"]) : undefined,
          batchSize: positiveInt("--batch", values.batch),
          maxSeqLen: positiveInt("--seq", values.seq),
          onProgress: (m) => process.stderr.write(`bench: ${m}\n`),
        });
        if (values.json) printJson(res);
        else for (const [k, v] of Object.entries(res)) process.stdout.write(`${k.padEnd(30)} ${String(v)}\n`);
        return;
      }
      if (which !== "engine") throw new UsageError(`unknown benchmark "${which}" (available: engine, service)`);
      const res = await benchEngine({
        rounds: positiveInt("--rounds", values.rounds),
        iters: positiveInt("--iters", values.iters),
        warmup: nonNegativeInt("--warmup", values.warmup),
        batch: positiveInt("--batch", values.batch),
        seq: positiveInt("--seq", values.seq),
        torch: !values["no-torch"],
        onProgress: (m) => process.stderr.write(`bench: ${m}\n`),
      });
      if (values.json) printJson(res);
      else for (const [k, v] of Object.entries(res)) process.stdout.write(`${k.padEnd(28)} ${String(v)}\n`);
    },
  },
};

Object.assign(commands, serviceCommands());

function serviceCommands(): typeof commands {
  return {
    serve: {
      summary: "serve --config FILE   the vendor server (jobs, keys, catalogue); prints 'listening on URL'",
      run: async (argv) => {
        const { values } = parseArgs({ args: argv, options: { config: { type: "string" } } });
        if (!values.config) throw new UsageError("usage: sap serve --config FILE (see docs/wire-format.md and README)");
        const { readServerConfig } = await import("../server/config.js");
        const { startServer } = await import("../server/http.js");
        const server = await startServer(readServerConfig(values.config));
        process.stdout.write(`listening on ${server.url}\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => void server.close().then(resolve);
          process.once("SIGTERM", stop);
          process.once("SIGINT", stop);
        });
      },
    },
    keys: {
      summary: "keys (create --tenant NAME [--expires-days N] | list | revoke ID) --config FILE   API keys of the server",
      run: async (argv) => {
        const { values, positionals } = parseArgs({
          args: argv,
          allowPositionals: true,
          options: {
            config: { type: "string" },
            tenant: { type: "string" },
            "expires-days": { type: "string" },
            json: { type: "boolean", default: false },
          },
        });
        const [sub, id] = positionals;
        if (!values.config || !sub) throw new UsageError("usage: sap keys create|list|revoke ... --config FILE");
        const { readServerConfig } = await import("../server/config.js");
        const { Store } = await import("../server/store.js");
        const cfg = readServerConfig(values.config);
        mkdirSync(cfg.dataDir, { recursive: true });
        const store = new Store(join(cfg.dataDir, "sap.db"));
        try {
          if (sub === "create") {
            if (!values.tenant) throw new UsageError("keys create needs --tenant NAME");
            const days =
              values["expires-days"] !== undefined ? positiveNumber("--expires-days", values["expires-days"]) : undefined;
            const res = store.createKey(values.tenant, { expiresAt: days ? Date.now() + days * 86_400_000 : undefined });
            if (values.json) printJson({ ...res, tenant: values.tenant });
            else
              process.stdout.write(
                `${res.key}\n(key id ${res.id} for tenant ${values.tenant}; the key is shown once, store it now)\n`,
              );
          } else if (sub === "list") {
            const keys = store.listKeys();
            if (values.json) printJson({ keys });
            else
              for (const k of keys)
                process.stdout.write(
                  `${k.id}  ${k.tenant.padEnd(20)} created ${new Date(k.created_at).toISOString()}` +
                    `${k.expires_at ? `  expires ${new Date(k.expires_at).toISOString()}` : ""}${k.revoked_at ? "  REVOKED" : ""}\n`,
                );
          } else if (sub === "revoke") {
            if (!id) throw new UsageError("usage: sap keys revoke ID --config FILE");
            if (!store.revokeKey(id)) throw new Error(`no active key with id ${id}`);
            process.stdout.write(`revoked ${id}\n`);
          } else throw new UsageError(`unknown keys subcommand "${sub}" (create, list, revoke)`);
        } finally {
          store.close();
        }
      },
    },
    client: {
      summary:
        "client (finetune --model NAME --split K (--task T | --train FILE ...) ... | predict --job ID --text ... | jobs | status ID | cancel ID) --server URL --key KEY",
      run: async (argv) => {
        const { values, positionals } = parseArgs({
          args: argv,
          allowPositionals: true,
          options: {
            ...DATA_OPTIONS,
            ...MECHANISM_OPTIONS,
            ...TRAIN_OPTIONS,
            server: { type: "string" },
            key: { type: "string" },
            ca: { type: "string" },
            "wire-dtype": { type: "string", default: "f32" },
            cache: { type: "string", default: join(".sap", "bottoms") },
            job: { type: "string" },
            "dump-wire": { type: "string" },
            text: { type: "string", multiple: true },
          },
        });
        const v = values as unknown as Record<string, string | boolean | undefined>;
        const texts = values.text ?? [];
        const [sub, arg] = positionals;
        const key = (v.key as string | undefined) ?? process.env.SAP_API_KEY;
        if (!v.server || !key) throw new UsageError("--server URL and --key KEY (or SAP_API_KEY) are required");
        const dtype = v["wire-dtype"] as string;
        if (dtype !== "f32" && dtype !== "f16") throw new UsageError(`--wire-dtype must be f32 or f16, got "${dtype}"`);
        const { SapClient } = await import("../client/sdk.js");
        const { readFileSync } = await import("node:fs");
        const progress = v.quiet ? undefined : terminalProgress();
        const client = new SapClient({
          server: v.server as string,
          key,
          ca: v.ca ? readFileSync(v.ca as string) : undefined,
          onRetry: (reason, attempt) =>
            progress?.({
              task: "client",
              done: 0,
              total: 1,
              unit: "",
              message: `connection problem (${reason}); retry ${attempt}`,
            }),
        });
        try {
          if (sub === "finetune") {
            if (!v.model) throw new UsageError("--model NAME is required (a name from the server's catalogue)");
            const { clientFinetune } = await import("../client/finetune.js");
            const res = await clientFinetune({
              client,
              model: v.model as string,
              ...trainingSpecFrom(v),
              wireDtype: dtype,
              cacheDir: v.cache as string,
              jobId: v.job as string | undefined,
              dumpWire: v["dump-wire"] as string | undefined,
              onProgress: progress,
            });
            const { stepLatencyMs, ...summary } = res;
            const sorted = [...stepLatencyMs].sort((a, b) => a - b);
            const out = { ...summary, step_latency_p50_ms: sorted[Math.floor(sorted.length / 2)] ?? null };
            if (v.json) printJson(out);
            else
              process.stdout.write(
                `done: job ${res.jobId}, dev accuracy ${(100 * res.dev_accuracy).toFixed(2)}%, ${Math.round(res.bytesPerStep)} bytes/step\n`,
              );
          } else if (sub === "predict") {
            const jobId = (v.job as string | undefined) ?? arg;
            if (!jobId || !texts.length)
              throw new UsageError('usage: sap client predict --job ID --text "..." --server URL --key KEY');
            const { clientPredict } = await import("../client/finetune.js");
            const preds = await clientPredict(client, jobId, texts, {
              cacheDir: v.cache as string,
              noiseSeed: v["noise-seed"] !== undefined ? nonNegativeInt("--noise-seed", v["noise-seed"] as string) : undefined,
              wireDtype: dtype,
              ctiTable: v["cti-table"] as string | undefined,
            });
            if (v.json) printJson({ predictions: preds });
            else
              for (const p of preds)
                process.stdout.write(
                  `${p.label}\t${Object.entries(p.probabilities)
                    .map(([k, x]) => `${k}=${x.toFixed(3)}`)
                    .join(" ")}\t${p.text}\n`,
                );
          } else if (sub === "jobs") {
            printJson(await client.listJobs());
          } else if (sub === "status" && arg) {
            printJson(await client.job(arg));
          } else if (sub === "cancel" && arg) {
            printJson(await client.cancel(arg));
          } else throw new UsageError("usage: sap client finetune|predict|jobs|status ID|cancel ID --server URL --key KEY");
        } finally {
          client.close();
        }
      },
    },
  };
}

class UsageError extends Error {}

const DATA_OPTIONS = {
  task: { type: "string" },
  "data-dir": { type: "string" },
  train: { type: "string" },
  dev: { type: "string" },
  format: { type: "string" },
  "text-column": { type: "string" },
  "text-pair-column": { type: "string" },
  "label-column": { type: "string" },
  labels: { type: "string" },
  "max-train": { type: "string" },
  "max-eval": { type: "string" },
} as const;

const MECHANISM_OPTIONS = {
  privatizer: { type: "string", default: "none" },
  eta: { type: "string" },
  clip: { type: "string", default: "1.0" },
  "noise-clip": { type: "string" },
  sigma: { type: "string" },
  "laplace-b": { type: "string" },
  "cti-table": { type: "string" },
  peft: { type: "string", default: "lora" },
  rank: { type: "string" },
  alpha: { type: "string" },
  "lora-dropout": { type: "string" },
  targets: { type: "string" },
  bottleneck: { type: "string" },
  "prompt-tokens": { type: "string" },
} as const;

const TRAIN_OPTIONS = {
  model: { type: "string" },
  split: { type: "string", default: "2" },
  epochs: { type: "string", default: "3" },
  "batch-size": { type: "string", default: "32" },
  lr: { type: "string", default: "5e-4" },
  warmup: { type: "string", default: "0.06" },
  "weight-decay": { type: "string", default: "0.01" },
  "max-seq-len": { type: "string", default: "64" },
  seed: { type: "string", default: "42" },
  "noise-seed": { type: "string" },
  "seeded-noise": { type: "boolean", default: false },
  "random-init": { type: "boolean", default: false },
  "train-bottom": { type: "string" },
  "dump-wire": { type: "string" },
  out: { type: "string" },
  resume: { type: "boolean", default: false },
  "checkpoint-every": { type: "string", default: "500" },
  json: { type: "boolean", default: false },
  quiet: { type: "boolean", default: false },
} as const;

function loadDataset(v: Record<string, string | boolean | undefined>, seed: number): Dataset {
  const subset = {
    maxTrain: v["max-train"] !== undefined ? positiveInt("--max-train", v["max-train"] as string) : undefined,
    maxEval: v["max-eval"] !== undefined ? positiveInt("--max-eval", v["max-eval"] as string) : undefined,
    seed,
  };
  if (v.task) return loadTask(v.task as string, { ...subset, dataDir: v["data-dir"] as string | undefined });
  if (!v.train)
    throw new UsageError(`give --task (${taskNames.join(", ")}) or --train FILE with --text-column and --label-column`);
  if (!v["text-column"] || !v["label-column"]) throw new UsageError("--train needs --text-column and --label-column");
  return loadUserDataset({
    train: v.train as string,
    dev: v.dev as string | undefined,
    format: v.format as "csv" | "tsv" | "jsonl" | undefined,
    textColumn: v["text-column"] as string,
    textPairColumn: v["text-pair-column"] as string | undefined,
    labelColumn: v["label-column"] as string,
    labels: v.labels ? (v.labels as string).split(",") : undefined,
    ...subset,
  });
}

/** --dump-wire FILE: every batch the vendor received, as wire frames (docs/wire-format.md). */
function dumpWire(
  file: string | undefined,
): ((w: import("../wire/index.js").WireBatch, phase: "train" | "eval") => void) | undefined {
  if (!file) return undefined;
  writeFileSync(file, new Uint8Array(0));
  let seq = 0;
  return (w, phase) => appendFileSync(file, batchToFrame(w, ++seq, "f32", phase === "train"));
}

/** The training settings `sap finetune` and `sap client finetune` share, parsed and checked once. */
function trainingSpecFrom(v: Record<string, string | boolean | undefined>): TrainingSpec {
  const seed = nonNegativeInt("--seed", (v.seed as string) ?? "42");
  return {
    dataset: loadDataset(v, seed),
    split: nonNegativeInt("--split", v.split as string),
    privatizer: mechanismFrom(v),
    peft: peftFrom(v),
    epochs: positiveInt("--epochs", v.epochs as string),
    batchSize: positiveInt("--batch-size", v["batch-size"] as string),
    lr: positiveNumber("--lr", v.lr as string),
    warmupRatio: Number(v.warmup),
    weightDecay: Number(v["weight-decay"]),
    clip: positiveNumber("--clip", v.clip as string),
    maxSeqLen: positiveInt("--max-seq-len", v["max-seq-len"] as string),
    seed,
    noiseSeed:
      v["noise-seed"] !== undefined
        ? nonNegativeInt("--noise-seed", v["noise-seed"] as string)
        : v["seeded-noise"]
          ? seed
          : undefined,
  };
}

function bottomFrom(v: string | undefined): "lora" | "full" | undefined {
  if (v === undefined) return undefined;
  if (v !== "lora" && v !== "full") throw new UsageError(`--train-bottom must be lora or full, got "${v}"`);
  return v;
}

function mechanismFrom(v: Record<string, string | boolean | undefined>): MechanismSpec {
  const name = v.privatizer as string;
  const params: Record<string, string | number> = {};
  if (v.eta !== undefined) params.eta = positiveNumber("--eta", v.eta as string);
  if (v["noise-clip"] !== undefined) params.clip = positiveNumber("--noise-clip", v["noise-clip"] as string);
  if (v.sigma !== undefined) params.sigma = positiveNumber("--sigma", v.sigma as string);
  if (v["laplace-b"] !== undefined) params.b = positiveNumber("--laplace-b", v["laplace-b"] as string);
  if (v["cti-table"] !== undefined) params.table = v["cti-table"] as string;
  return { name, params };
}

function peftFrom(v: Record<string, string | boolean | undefined>): { name: string; params: Record<string, string | number> } {
  const params: Record<string, string | number> = {};
  if (v.rank !== undefined) params.rank = positiveInt("--rank", v.rank as string);
  if (v.alpha !== undefined) params.alpha = positiveNumber("--alpha", v.alpha as string);
  if (v["lora-dropout"] !== undefined) params.dropout = Number(v["lora-dropout"]);
  if (v.targets !== undefined) params.targets = v.targets as string;
  if (v.bottleneck !== undefined) params.bottleneck = positiveInt("--bottleneck", v.bottleneck as string);
  if (v["prompt-tokens"] !== undefined) params.tokens = positiveInt("--prompt-tokens", v["prompt-tokens"] as string);
  return { name: v.peft as string, params };
}

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${v}"`);
  return n;
}

function positiveNumber(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${v}"`);
  return n;
}

function nonNegativeInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got "${v}"`);
  return n;
}

function usage(): string {
  return [
    "usage: sap <command> [options]",
    "",
    ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`),
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(usage() + "\n");
    return cmd ? 0 : 2;
  }
  const c = commands[cmd];
  if (!c) {
    process.stderr.write(`sap: unknown command "${cmd}"\n${usage()}\n`);
    return 2;
  }
  try {
    await c.run(rest);
    return 0;
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`sap ${cmd}: ${err.message}\n`);
    if (process.env.SAP_DEBUG) process.stderr.write(`${err.stack}\n`);
    return e instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
