// Where `sap client` keeps downloaded bottoms and CTI tables: the platform's cache folder, not the
// working directory (a cache in the current folder is left behind wherever a command was run).
import { homedir } from "node:os";
import { join, win32 } from "node:path";

/**
 * $SAP_CACHE_DIR when set; else $XDG_CACHE_HOME/sap or ~/.cache/sap (Linux and other Unixes),
 * ~/Library/Caches/sap (macOS), %LOCALAPPDATA%\sap\Cache (Windows).
 */
export function sapCacheDir(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (env.SAP_CACHE_DIR) return env.SAP_CACHE_DIR;
  if (platform === "win32") return win32.join(env.LOCALAPPDATA || win32.join(home, "AppData", "Local"), "sap", "Cache");
  if (platform === "darwin") return join(home, "Library", "Caches", "sap");
  // XDG: a relative XDG_CACHE_HOME is invalid and is ignored.
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith("/") ? xdg : join(home, ".cache"), "sap");
}
