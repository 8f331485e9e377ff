// Builds the web UI (src/Tracker.Web) into src/Tracker.Web/dist: type-checks it with tsc, then bundles it with Vite.
// Tracker.Functions.csproj runs this before every build whose UI sources changed and embeds dist/ in the executable,
// so `dotnet build`, `npm start` and `npm test` all serve the current UI. Scripts and styles are also written
// precompressed (.br, .gz), which the app sends to browsers that take them.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { repoRoot, ensureNodeModules } from "./local-tools.mjs";

ensureNodeModules();
const web = join(repoRoot, "src", "Tracker.Web");
const bin = (name) => join(repoRoot, "node_modules", name);
for (const [what, args] of [
  ["type check", [bin("typescript/bin/tsc"), "-p", web]],
  ["bundle", [bin("vite/bin/vite.js"), "build", "--logLevel", "warn", web]],
]) {
  const result = spawnSync(process.execPath, args, { cwd: web, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`The web UI's ${what} failed.`);
    process.exit(result.status ?? 1);
  }
}

const assets = join(web, "dist", "assets");
for (const name of readdirSync(assets).filter((n) => /\.(js|css|svg)$/.test(n))) {
  const content = readFileSync(join(assets, name));
  writeFileSync(join(assets, `${name}.br`), brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(join(assets, `${name}.gz`), gzipSync(content, { level: 9 }));
}
