// TLS: with a certificate and key the server speaks https only; a client that trusts the
// certificate works, one that does not is refused, and plain http to the TLS port gets nothing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SapClient } from "../../src/client/sdk.js";
import { parseServerConfig } from "../../src/server/config.js";
import type { RunningServer } from "../../src/server/http.js";
import { cleanup, startTestServer, tempDir } from "./helpers.js";

const dirs: string[] = [];
const servers: RunningServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  cleanup(dirs);
});

function haveOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("TLS", { skip: haveOpenssl() ? false : "openssl is not installed (needed to make a test certificate)" }, () => {
  it("serves https with the given certificate; untrusted and plain-http clients are refused", async () => {
    const dir = tempDir(dirs);
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "ignore" },
    );
    const server = await startTestServer(join(dir, "data"), { tls: { cert, key } });
    servers.push(server);
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const apiKey = server.store.createKey("tls-tenant").key;

    const trusted = new SapClient({ server: server.url, key: apiKey, ca: readFileSync(cert), reconnectTimeoutMs: 500 });
    const { models } = await trusted.models();
    assert.deepEqual(
      models.map((m) => m.name),
      ["tiny-bert"],
    );
    trusted.close();

    const untrusted = new SapClient({ server: server.url, key: apiKey, reconnectTimeoutMs: 500 });
    await assert.rejects(untrusted.models(), /self[- ]signed|certificate/i);
    untrusted.close();

    const plain = new SapClient({ server: server.url.replace("https:", "http:"), key: apiKey, reconnectTimeoutMs: 500 });
    await assert.rejects(plain.models());
    plain.close();
  });

  it("refuses plain HTTP on a non-loopback address unless forced", () => {
    const base = { port: 0, dataDir: tempDir(dirs), models: {}, log: false };
    assert.throws(() => parseServerConfig({ ...base, host: "0.0.0.0" }), /refusing plain HTTP on 0\.0\.0\.0/);
    assert.doesNotThrow(() => parseServerConfig({ ...base, host: "0.0.0.0", allowInsecureHttp: true }));
  });
});
