// Shared by the set-up commands: makes sure the pinned npm packages (Azurite, yazl for the deployment zip) are installed.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const azuriteBin = join(repoRoot, "node_modules", "azurite", "dist", "src", "azurite.js");

const pinned = [azuriteBin, join(repoRoot, "node_modules", "yazl", "index.js")];

export function ensureNodeModules() {
  if (pinned.every((file) => existsSync(file))) return;
  console.log("Installing the pinned npm packages (npm ci)...");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: repoRoot, stdio: "inherit" });
  if (result.status !== 0 || !pinned.every((file) => existsSync(file))) {
    console.error("Could not install the pinned npm packages with npm ci.");
    process.exit(1);
  }
}
