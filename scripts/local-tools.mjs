// Shared by the set-up commands: makes sure the pinned npm packages (Azurite, yazl for the deployment zip, the web UI's
// toolchain and libraries, playwright-core and puppeteer-core for the browser tests) are installed.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const azuriteBin = join(repoRoot, "node_modules", "azurite", "dist", "src", "azurite.js");

const pinned = [azuriteBin, ...["yazl/index.js", "vite/package.json", "typescript/package.json", "preact/package.json", "echarts/package.json",
  "@azure/msal-browser/package.json", "playwright-core/package.json", "puppeteer-core/package.json"].map((file) => join(repoRoot, "node_modules", file))];

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
