// `sap keys create|list|revoke`: the service's API keys (stored salted and hashed). `create`
// prints only the key on stdout, so `KEY=$(sap keys create ...)` works; the rest goes to stderr.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { UsageError, required, type Command } from "../options.js";
import { note, printJson, printLine } from "../render.js";

export const command: Command = {
  name: "keys",
  summary: "API keys of the service: create (the key is shown once), list, revoke",
  usage: [
    "sap keys create --tenant NAME [--expires-days N] --config FILE",
    "sap keys list --config FILE",
    "sap keys revoke ID --config FILE",
  ],
  options: () => [
    { name: "config", type: "string", placeholder: "FILE", help: "the service's config (its dataDir holds the keys)" },
    { name: "tenant", type: "string", placeholder: "NAME", help: "create: the tenant the key acts for" },
    { name: "expires-days", type: "number", min: 0, minExclusive: true, help: "create: the key expires after N days" },
    { name: "json", type: "boolean", help: "print the result as one JSON object" },
  ],
  examples: ["KEY=$(sap keys create --tenant acme --config serve.json)", "sap keys revoke key_abc --config serve.json"],
  async run(args) {
    const v = args.values;
    const [sub, id, extra] = args.positionals;
    if (!sub || extra !== undefined) throw new UsageError("usage: sap keys create|list|revoke ... --config FILE");
    if (!["create", "list", "revoke"].includes(sub))
      throw new UsageError(`unknown keys subcommand ${JSON.stringify(sub)} (create, list, revoke)`);
    const file = required<string>(args, "config", "FILE");
    if (sub === "create" && !v.tenant) throw new UsageError("keys create needs --tenant NAME");
    if (sub === "revoke" && !id) throw new UsageError("usage: sap keys revoke ID --config FILE");
    const { readServerConfig } = await import("../../server/config.js");
    const { Store } = await import("../../server/store.js");
    const cfg = readServerConfig(file);
    mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
    const store = new Store(join(cfg.dataDir, "sap.db"));
    try {
      if (sub === "create") {
        const days = v["expires-days"] as number | undefined;
        const res = store.createKey(v.tenant as string, { expiresAt: days ? Date.now() + days * 86_400_000 : undefined });
        if (v.json) printJson({ ...res, tenant: v.tenant });
        else {
          printLine(res.key);
          note(`key id ${res.id} for tenant ${String(v.tenant)}; the key is shown once, store it now`);
        }
      } else if (sub === "list") {
        const keys = store.listKeys();
        if (v.json) printJson({ keys });
        else
          for (const k of keys)
            printLine(
              `${k.id}  ${k.tenant.padEnd(20)} created ${new Date(k.created_at).toISOString()}` +
                `${k.expires_at ? `  expires ${new Date(k.expires_at).toISOString()}` : ""}${k.revoked_at ? "  REVOKED" : ""}`,
            );
      } else {
        if (!store.revokeKey(id!)) throw new Error(`no active key with id ${id}`);
        if (v.json) printJson({ revoked: id });
        else printLine(`revoked ${id}`);
      }
    } finally {
      store.close();
    }
  },
};
