// Where tests find the shared data: ../shared next to the repository (as laid out for
// developers and CI), or SAP_SHARED_DIR.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

function findRepoRoot(): string {
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("package.json not found above " + here);
}

export const repoRoot = findRepoRoot();
export const sharedDir = resolve(process.env.SAP_SHARED_DIR ?? join(repoRoot, "..", "shared"));
if (!existsSync(join(sharedDir, "fixtures")))
  throw new Error(`shared data not found at ${sharedDir}: put shared/ next to the repository or set SAP_SHARED_DIR`);
export const fixture = (name: string): string => join(sharedDir, "fixtures", name);
export const dataPath = (...parts: string[]): string => join(sharedDir, "data", ...parts);
