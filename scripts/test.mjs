// `npm test`: every test (unit, integration against an Azurite the tests start themselves, Bicep build and lint,
// publish layout). Needs only the .NET SDK and Node.js.
import { spawnSync } from "node:child_process";
import { repoRoot, ensureNodeModules } from "./local-tools.mjs";

ensureNodeModules();
const result = spawnSync("dotnet", ["test", "Tracker.Functions.sln", "-c", "Release", ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: "inherit",
  env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1" },
});
process.exit(result.status ?? 1);
