// SapClient: the customer's SDK for a `sap serve` vendor. JSON for control, binary wire frames
// for representations; requests that fail because the connection dropped (or the server is
// restarting) are retried until `reconnectTimeoutMs`, and training steps are idempotent by seq.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { isAbsolute, relative, resolve } from "node:path";
import type { BottomManifest, ChunkAck, JobSpec, JobView, StepAck, UploadStatus } from "../wire/index.js";

export interface ClientOptions {
  server: string;
  key: string;
  /** PEM of a CA (or self-signed certificate) to trust for https. */
  ca?: string | Buffer;
  /** Keep retrying a dropped or refused connection this long before giving up. */
  reconnectTimeoutMs?: number;
  /** Called when a request is retried (for progress output). */
  onRetry?: (reason: string, attempt: number) => void;
}

/** An error answer of the server: HTTP status + the JSON error code and message. */
export class SapApiError extends Error {
  override readonly name = "SapApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(`server answered ${status} ${code}: ${message}`);
  }
}

const TRANSIENT = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

function isTransient(e: unknown): boolean {
  if (e instanceof SapApiError) return e.status === 502 || e.status === 503 || e.status === 504;
  const code = (e as { code?: string }).code;
  return (code !== undefined && TRANSIENT.has(code)) || /socket hang up/.test((e as Error).message ?? "");
}

export class SapClient {
  private readonly base: URL;
  private readonly agent: HttpAgent;
  /** Bytes of request and response bodies, all requests. */
  bytesSent = 0;
  bytesReceived = 0;

  constructor(readonly opts: ClientOptions) {
    this.base = new URL(opts.server);
    if (this.base.protocol !== "http:" && this.base.protocol !== "https:")
      throw new Error(`--server must be an http(s) URL, got ${opts.server}`);
    this.agent =
      this.base.protocol === "https:" ? new HttpsAgent({ keepAlive: true, ca: opts.ca }) : new HttpAgent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One request, no retry. Resolves with the body on 2xx; rejects with SapApiError otherwise. */
  private once(
    method: string,
    path: string,
    body?: Uint8Array,
    contentType = "application/json",
  ): Promise<{ body: Buffer; type: string }> {
    const url = new URL(path, this.base);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.opts.key}`,
            ...(body ? { "content-type": contentType, "content-length": body.length } : {}),
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const buf = Buffer.concat(chunks);
            this.bytesReceived += buf.length;
            const type = String(res.headers["content-type"] ?? "");
            if ((res.statusCode ?? 500) >= 300) {
              let err: { code?: string; message?: string } & Record<string, unknown> = {};
              try {
                err = (JSON.parse(buf.toString("utf8")) as { error: typeof err }).error ?? {};
              } catch {
                err = { message: buf.toString("utf8").slice(0, 200) };
              }
              const { code, message, ...details } = err;
              reject(new SapApiError(res.statusCode ?? 500, code ?? "error", message ?? "no message", details));
            } else resolve({ body: buf, type });
          });
        },
      );
      req.on("error", reject);
      if (body) {
        this.bytesSent += body.length;
        req.end(body);
      } else req.end();
    });
  }

  /** A request retried across dropped connections and server restarts. */
  async request(method: string, path: string, body?: Uint8Array, contentType?: string): Promise<{ body: Buffer; type: string }> {
    const deadline = Date.now() + (this.opts.reconnectTimeoutMs ?? 60_000);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(method, path, body, contentType);
      } catch (e) {
        if (!isTransient(e) || Date.now() > deadline) throw e;
        this.opts.onRetry?.((e as Error).message, attempt);
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    return JSON.parse(r.body.toString("utf8")) as T;
  }

  health(): Promise<{ ok: boolean }> {
    return this.json("GET", "/v1/health");
  }

  models(): Promise<{
    models: Array<{ name: string; modelType: string; numLayers: number; hiddenSize: number; splits: number[] }>;
  }> {
    return this.json("GET", "/v1/models");
  }

  bottomManifest(model: string, split: number): Promise<BottomManifest> {
    return this.json("GET", `/v1/models/${encodeURIComponent(model)}/bottom?split=${split}`);
  }

  /**
   * Downloads the bottom bundle into `dir` (skipping files already there with the right hash).
   * The manifest comes from the vendor, so nothing in it is trusted: each file name must be a
   * plain basename (letters, digits, '.', '_', '-'), and its path must resolve inside `dir`.
   */
  async downloadBottom(model: string, split: number, dir: string): Promise<BottomManifest> {
    const manifest = await this.bottomManifest(model, split);
    const paths = bundlePaths(manifest, dir);
    mkdirSync(dir, { recursive: true });
    for (const [i, f] of manifest.files.entries()) {
      const path = paths[i]!;
      if (existsSync(path) && sha256(readFileSync(path)) === f.sha256) continue;
      const { body } = await this.request(
        "GET",
        `/v1/models/${encodeURIComponent(model)}/bottom/files/${encodeURIComponent(f.name)}?split=${split}`,
      );
      if (sha256(body) !== f.sha256) throw new Error(`bottom file ${f.name} arrived corrupted (sha256 mismatch)`);
      writeFileSync(`${path}.tmp`, body);
      renameSync(`${path}.tmp`, path);
    }
    return manifest;
  }

  createJob(spec: JobSpec): Promise<JobView> {
    return this.json("POST", "/v1/jobs", spec);
  }

  listJobs(): Promise<{ jobs: JobView[] }> {
    return this.json("GET", "/v1/jobs");
  }

  job(id: string): Promise<JobView> {
    return this.json("GET", `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** Sends one training frame; retried transparently, answered idempotently by the server. */
  step(id: string, frame: Uint8Array): Promise<StepAck> {
    return this.request("POST", `/v1/jobs/${encodeURIComponent(id)}/steps`, frame, "application/octet-stream").then(
      (r) => JSON.parse(r.body.toString("utf8")) as StepAck,
    );
  }

  /** Logits frame for a predict frame. */
  async predict(id: string, frame: Uint8Array): Promise<Uint8Array> {
    return (await this.request("POST", `/v1/jobs/${encodeURIComponent(id)}/predict`, frame, "application/octet-stream")).body;
  }

  /** Stores one chunk of an upload job (idempotent: the same bytes again are answered as a duplicate). */
  putChunk(id: string, index: number, frame: Uint8Array): Promise<ChunkAck> {
    return this.request("PUT", `/v1/jobs/${encodeURIComponent(id)}/upload/${index}`, frame, "application/octet-stream").then(
      (r) => JSON.parse(r.body.toString("utf8")) as ChunkAck,
    );
  }

  /** Which chunks of an upload job the server holds. */
  uploadStatus(id: string): Promise<UploadStatus> {
    return this.json("GET", `/v1/jobs/${encodeURIComponent(id)}/upload`);
  }

  /** Asks the server to verify the upload's checksum and train it in the background. */
  completeUpload(id: string): Promise<JobView> {
    return this.json("POST", `/v1/jobs/${encodeURIComponent(id)}/upload/complete`, {});
  }

  reportEpoch(id: string, epoch: number, devAccuracy: number): Promise<Record<string, number>> {
    return this.json("POST", `/v1/jobs/${encodeURIComponent(id)}/epochs`, { epoch, devAccuracy });
  }

  finish(id: string): Promise<JobView> {
    return this.json("POST", `/v1/jobs/${encodeURIComponent(id)}/finish`, {});
  }

  cancel(id: string): Promise<JobView> {
    return this.json("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`, {});
  }

  deleteJob(id: string): Promise<{ deleted: string }> {
    return this.json("DELETE", `/v1/jobs/${encodeURIComponent(id)}`);
  }
}

/** A bundle file name the client will write: a basename, no leading dot, at most 128 characters. */
export const BUNDLE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Where each file of a vendor's manifest goes under `dir`; refuses any name that could leave it. */
export function bundlePaths(manifest: BottomManifest, dir: string): string[] {
  if (!manifest || !Array.isArray(manifest.files)) throw new Error("the server's bottom manifest has no list of files");
  const root = resolve(dir);
  const seen = new Set<string>();
  return manifest.files.map((f, i) => {
    const name: unknown = f?.name;
    const show = JSON.stringify(name)?.slice(0, 60) ?? String(name);
    if (typeof name !== "string" || !BUNDLE_FILE_NAME.test(name) || name.includes(".."))
      throw new Error(`the server's bottom manifest names file ${i} ${show}: not a plain file name; refusing to write it`);
    if (typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256))
      throw new Error(`the server's bottom manifest gives file ${show} no sha256 digest`);
    if (seen.has(name)) throw new Error(`the server's bottom manifest lists ${show} twice`);
    seen.add(name);
    const path = resolve(root, name);
    const rel = relative(root, path);
    // Belt and braces: the pattern already forbids separators, but the check is on the result.
    if (!rel || rel.startsWith("..") || isAbsolute(rel) || rel.includes("/") || rel.includes("\\"))
      throw new Error(`the server's bottom manifest names ${show}, which resolves outside ${root}`);
    return path;
  });
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
