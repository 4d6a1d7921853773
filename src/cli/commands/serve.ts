// `sap serve --config FILE`: the vendor service. Its config format is documented here (the
// --help text) and in docs/service-config.md, with docs/examples/serve.json as a working example.
import { UsageError, required, type Command } from "../options.js";
import { printLine } from "../render.js";

export const SERVE_CONFIG_HELP = `Config file (JSON; relative paths are resolved against the file's folder):
  host               address to bind (default 127.0.0.1; plain HTTP is refused off loopback)
  port               TCP port (default 8750; 0 = any free port)
  dataDir            jobs, checkpoints, adapters, cached bottoms and the SQLite database (required)
  models             catalogue: {"NAME": {"path": MODEL_DIR, "splits": [k, ...]}} (required)
  tls                {"cert": PEM_FILE, "key": PEM_FILE} to serve https
  allowInsecureHttp  true: plain HTTP on a non-loopback address (only behind a TLS proxy)
  limits             what a tenant or a request may cost (defaults shown):
    maxFrameBytes 67108864       largest wire frame; a larger Content-Length gets 413 unread
    maxJsonBytes 1048576         largest JSON body (nesting deeper than 32 levels is refused)
    maxActiveJobsPerTenant 4     jobs created/running per tenant (429 beyond)
    maxJobsPerTenant 100         jobs of any state per tenant (429 beyond)
    maxDiskBytesPerTenant 10 GiB a tenant's job files; new jobs get 429 disk_quota above it
    maxLabels 1000               label names per job
    maxBatchSize 512             hyper.batchSize; frames may carry that many rows (predict: max(64, it))
    maxConcurrentUploads 16      bodies received at once (503 busy beyond; the client retries)
    bodyTimeoutMs 60000          a body slower than this is cut off with 408
    headersTimeoutMs 20000       headers slower than this are cut off
    maxSessions 8                job models kept in memory (least recently used unloaded)
    sessionIdleMs 600000         a job model idle this long is unloaded (reloaded from disk on use)
  checkpointEvery    checkpoint (and acknowledge as durable) every N steps (default 1)
  log                one JSON line per request on stderr (default true)
Keys: sap keys create --tenant NAME --config FILE. Full description: docs/service-config.md.`;

export const command: Command = {
  name: "serve",
  summary: "the vendor service: tenants and API keys, model catalogue, training jobs, inference; prints 'listening on URL'",
  usage: ["sap serve --config FILE"],
  options: () => [{ name: "config", type: "string", placeholder: "FILE", help: "the service's JSON config (below)" }],
  details: () => SERVE_CONFIG_HELP,
  examples: ["sap serve --config docs/examples/serve.json"],
  async run(args) {
    if (args.positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const file = required<string>(args, "config", "FILE");
    const { readServerConfig } = await import("../../server/config.js");
    const { startServer } = await import("../../server/http.js");
    const server = await startServer(readServerConfig(file));
    printLine(`listening on ${server.url}`);
    await new Promise<void>((resolve) => {
      const stop = (): void => void server.close().then(resolve);
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
  },
};
