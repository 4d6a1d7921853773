// The vendor's durable metadata in SQLite (better-sqlite3): tenants, API keys (salted hashes
// only) and jobs. Every job query is scoped by tenant id, so isolation is enforced at the query.
import Database from "better-sqlite3";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, closeSync, openSync } from "node:fs";

export interface TenantRow {
  id: string;
  name: string;
  created_at: number;
}

export interface KeyInfo {
  id: string;
  tenant: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export type JobStatus = "created" | "running" | "completed" | "cancelled" | "failed";
export const ACTIVE_STATUSES: readonly JobStatus[] = ["created", "running"];

export interface JobRow {
  id: string;
  tenant_id: string;
  status: JobStatus;
  model: string;
  split: number;
  /** The job's creation request (model, PEFT, privatizer description, hyper-parameters) as JSON. */
  spec: string;
  step: number;
  total_steps: number;
  durable_step: number;
  /** Epoch records, best accuracy etc. as JSON. */
  summary: string;
  error: string | null;
  created_at: number;
  updated_at: number;
}

export type KeyCheck = { ok: true; tenant: string; keyId: string } | { ok: false; reason: string };

const KEY_PREFIX = "sap_";

/**
 * API keys are 32 random bytes, so a salted SHA-256 is enough: slow password hashes (scrypt) only
 * help against guessing low-entropy secrets, and they would cost tens of ms on every batch.
 */
function hashSecret(salt: Buffer, secret: string): Buffer {
  return createHash("sha256").update(salt).update(secret, "utf8").digest();
}

export class Store {
  readonly db: Database.Database;
  /**
   * A second connection for per-step progress (step, durable_step) without an fsync per commit:
   * in WAL mode a commit survives a killed process either way, and after a power loss the job's
   * checkpoint file (fsynced before a step is acknowledged) is what a resume reads; a lagging
   * progress row only makes the client resend steps the server then answers as duplicates.
   */
  private progressDb: Database.Database | null = null;
  private readonly updateStatements = new Map<string, Database.Statement>();

  constructor(path: string) {
    // Key hashes and job specs are the vendor's alone: the file is created owner-only (SQLite
    // gives its -wal and -shm files the database file's mode), and tightened if it exists.
    if (path !== ":memory:") {
      closeSync(openSync(path, "a", 0o600));
      chmodSync(path, 0o600);
    }
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    // FULL: a committed transaction survives power loss, not only a killed process.
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS tenants (
        id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),
        salt BLOB NOT NULL, hash BLOB NOT NULL, created_at INTEGER NOT NULL,
        expires_at INTEGER, revoked_at INTEGER);
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), status TEXT NOT NULL,
        model TEXT NOT NULL, split INTEGER NOT NULL, spec TEXT NOT NULL,
        step INTEGER NOT NULL DEFAULT 0, total_steps INTEGER NOT NULL, durable_step INTEGER NOT NULL DEFAULT 0,
        summary TEXT NOT NULL DEFAULT '{}', error TEXT,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS jobs_by_tenant ON jobs(tenant_id, created_at);
    `);
  }

  close(): void {
    this.progressDb?.close();
    this.db.close();
  }

  // --- tenants and keys --------------------------------------------------------------------

  tenantByName(name: string): TenantRow | undefined {
    return this.db.prepare("SELECT * FROM tenants WHERE name = ?").get(name) as TenantRow | undefined;
  }

  ensureTenant(name: string): TenantRow {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
      throw new Error(`tenant name "${name}" must be 1-64 letters, digits, '_', '.' or '-'`);
    const have = this.tenantByName(name);
    if (have) return have;
    const row: TenantRow = { id: `t_${randomBytes(8).toString("hex")}`, name, created_at: Date.now() };
    this.db.prepare("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)").run(row.id, row.name, row.created_at);
    return row;
  }

  /** Creates a key for a tenant (created if new); the secret is returned once and never stored. */
  createKey(tenantName: string, opts: { expiresAt?: number } = {}): { key: string; id: string } {
    const tenant = this.ensureTenant(tenantName);
    const id = randomBytes(6).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const salt = randomBytes(16);
    this.db
      .prepare("INSERT INTO api_keys (id, tenant_id, salt, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(id, tenant.id, salt, hashSecret(salt, secret), Date.now(), opts.expiresAt ?? null);
    return { key: `${KEY_PREFIX}${id}_${secret}`, id };
  }

  listKeys(): KeyInfo[] {
    return this.db
      .prepare(
        "SELECT k.id, t.name AS tenant, k.created_at, k.expires_at, k.revoked_at FROM api_keys k JOIN tenants t ON t.id = k.tenant_id ORDER BY k.created_at",
      )
      .all() as KeyInfo[];
  }

  revokeKey(id: string): boolean {
    return (
      this.db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(Date.now(), id).changes > 0
    );
  }

  /** Checks a presented key; the comparison of hashes is constant-time. */
  checkKey(presented: string, now = Date.now()): KeyCheck {
    const m = /^sap_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(presented);
    if (!m) return { ok: false, reason: "malformed API key (expected sap_<id>_<secret>)" };
    const row = this.db.prepare("SELECT * FROM api_keys WHERE id = ?").get(m[1]) as
      | { id: string; tenant_id: string; salt: Buffer; hash: Buffer; expires_at: number | null; revoked_at: number | null }
      | undefined;
    // Hash even for an unknown id so that timing does not tell which ids exist.
    const salt = row?.salt ?? Buffer.alloc(16);
    const want = row?.hash ?? Buffer.alloc(32);
    const match = timingSafeEqual(hashSecret(salt, m[2]!), want);
    if (!row || !match) return { ok: false, reason: "unknown API key" };
    if (row.revoked_at !== null) return { ok: false, reason: "API key has been revoked" };
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: "API key has expired" };
    return { ok: true, tenant: row.tenant_id, keyId: row.id };
  }

  // --- jobs --------------------------------------------------------------------------------

  insertJob(row: Omit<JobRow, "created_at" | "updated_at" | "error" | "step" | "durable_step" | "summary">): JobRow {
    const now = Date.now();
    this.db
      .prepare(
        "INSERT INTO jobs (id, tenant_id, status, model, split, spec, total_steps, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(row.id, row.tenant_id, row.status, row.model, row.split, row.spec, row.total_steps, now, now);
    return this.job(row.tenant_id, row.id)!;
  }

  /** A job of this tenant, or undefined (also when it belongs to another tenant). */
  job(tenantId: string, id: string): JobRow | undefined {
    return this.db.prepare("SELECT * FROM jobs WHERE id = ? AND tenant_id = ?").get(id, tenantId) as JobRow | undefined;
  }

  jobs(tenantId: string): JobRow[] {
    return this.db.prepare("SELECT * FROM jobs WHERE tenant_id = ? ORDER BY created_at").all(tenantId) as JobRow[];
  }

  /** Jobs of a tenant in any state. */
  countJobs(tenantId: string): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ?").get(tenantId) as { n: number }).n;
  }

  countActive(tenantId: string): number {
    return (
      this.db
        .prepare(
          `SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ? AND status IN (${ACTIVE_STATUSES.map(() => "?").join(", ")})`,
        )
        .get(tenantId, ...ACTIVE_STATUSES) as { n: number }
    ).n;
  }

  updateJob(
    tenantId: string,
    id: string,
    fields: Partial<Pick<JobRow, "status" | "step" | "durable_step" | "summary" | "error">>,
  ): void {
    const keys = Object.keys(fields) as Array<keyof typeof fields>;
    if (!keys.length) return;
    // Progress alone (no status change, summary or error) goes through the no-fsync connection.
    // (An in-memory database has no second connection to the same data.)
    const progressOnly = !this.db.memory && keys.every((k) => k === "step" || k === "durable_step");
    if (progressOnly && !this.progressDb) {
      this.progressDb = new Database(this.db.name);
      this.progressDb.pragma("synchronous = NORMAL");
      this.progressDb.pragma("busy_timeout = 5000");
    }
    const db = progressOnly ? this.progressDb! : this.db;
    const sql = `UPDATE jobs SET ${keys.map((k) => `${k} = ?`).join(", ")}, updated_at = ? WHERE id = ? AND tenant_id = ?`;
    const key = `${progressOnly ? "p" : "m"}:${sql}`;
    let stmt = this.updateStatements.get(key);
    if (!stmt) this.updateStatements.set(key, (stmt = db.prepare(sql)));
    stmt.run(...keys.map((k) => fields[k] ?? null), Date.now(), id, tenantId);
  }

  deleteJob(tenantId: string, id: string): boolean {
    return this.db.prepare("DELETE FROM jobs WHERE id = ? AND tenant_id = ?").run(id, tenantId).changes > 0;
  }
}
