// Shared by the set-up commands: makes sure the pinned Azurite from package.json is installed.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const azuriteBin = join(repoRoot, "node_modules", "azurite", "dist", "src", "azurite.js");

export function ensureAzurite() {
  if (existsSync(azuriteBin)) return;
  console.log("Installing the pinned Azurite (npm ci)...");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: repoRoot, stdio: "inherit" });
  if (result.status !== 0 || !existsSync(azuriteBin)) {
    console.error("Could not install Azurite with npm ci.");
    process.exit(1);
  }
}
