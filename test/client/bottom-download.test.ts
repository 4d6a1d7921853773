// The customer's SDK trusts no file name from the vendor: a fake server on loopback serves bottom
// manifests naming files outside the cache folder, and nothing is written outside it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SapClient } from "../../src/client/sdk.js";
import { cleanup, tempDir } from "../server/helpers.js";

const dirs: string[] = [];
after(() => cleanup(dirs));

const content = Buffer.from("pwned\n");
const digest = createHash("sha256").update(content).digest("hex");

describe("bottom download from a malicious vendor", () => {
  let server: Server;
  let url: string;
  let names: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      const body = u.pathname.endsWith("/bottom")
        ? Buffer.from(
            JSON.stringify({
              model: "m",
              split: 1,
              numLayers: 2,
              hiddenSize: 32,
              modelType: "bert",
              files: names.map((name) => ({ name, bytes: content.length, sha256: digest })),
            }),
          )
        : content;
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  for (const bad of ["../../../pwned.txt", "../pwned.txt", "/tmp/pwned.txt", "sub/pwned.txt", "..", ".hidden", "a\\..\\b", ""]) {
    it(`refuses the file name ${JSON.stringify(bad)} and writes nothing outside the cache`, async () => {
      const root = tempDir(dirs);
      const cache = join(root, "a", "b", "c", "cache");
      mkdirSync(cache, { recursive: true });
      names = ["config.json", bad];
      const client = new SapClient({ server: url, key: "k", reconnectTimeoutMs: 0 });
      try {
        await assert.rejects(client.downloadBottom("m", 1, cache), /not a plain file name|resolves outside/);
      } finally {
        client.close();
      }
      assert.ok(!existsSync(join(root, "a", "pwned.txt")) && !existsSync(join(root, "pwned.txt")));
      // The manifest is checked as a whole before any file is written.
      assert.deepEqual(readdirSync(cache), []);
    });
  }

  it("still downloads a bundle whose names are plain", async () => {
    const cache = join(tempDir(dirs), "cache");
    names = ["config.json", "model.safetensors", "vocab.txt"];
    const client = new SapClient({ server: url, key: "k", reconnectTimeoutMs: 0 });
    try {
      await client.downloadBottom("m", 1, cache);
    } finally {
      client.close();
    }
    assert.deepEqual(readdirSync(cache).sort(), names);
  });
});
