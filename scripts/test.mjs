// `npm test`: every test. First the .NET suite (unit, integration against an Azurite the tests start themselves, Bicep
// build and lint, the published native handler's layout and behaviour; its build also builds the web UI), then the browser tests of the web UI
// (tests/ui, node:test + playwright-core driving Debian's Chromium, and puppeteer-core driving Debian's Firefox ESR for
// firefox.test.mjs; both installed here when missing, as is clang for the native publish) against the
// Tracker that build made. Needs only the .NET SDK and Node.js. Arguments go to `dotnet test` (e.g. --filter), and
// then only the .NET tests run.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot, ensureNodeModules } from "./local-tools.mjs";
import { ensureChromium, ensureFirefox, ensureNativeToolchain } from "./ensure-packages.mjs";

ensureNodeModules();
ensureNativeToolchain(); // the .NET tests publish the handler as azd does: native, linked by clang
const args = process.argv.slice(2);
const env = { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1" };
const dotnet = spawnSync("dotnet", ["test", "Tracker.Functions.sln", "-c", "Release", ...args], { cwd: repoRoot, stdio: "inherit", env });
if (dotnet.status !== 0 || args.length > 0) process.exit(dotnet.status ?? 1);

ensureChromium();
ensureFirefox();
const ui = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", join("tests", "ui")], { cwd: repoRoot, stdio: "inherit", env });
process.exit(ui.status ?? 1);
