// `npm start`: a complete local Tracker. Azurite (data kept in .azurite/, so a restart keeps your experiments) and
// Tracker at http://127.0.0.1:5000 (override with TRACKER_URL). Ctrl-C stops both.
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { repoRoot, azuriteBin, ensureNodeModules } from "./local-tools.mjs";

const url = process.env.TRACKER_URL ?? "http://127.0.0.1:5000";
const ports = { blob: 10000, queue: 10001, table: 10002 };
const account = "devstoreaccount1";
const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const connectionString =
  `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};` +
  `BlobEndpoint=http://127.0.0.1:${ports.blob}/${account};QueueEndpoint=http://127.0.0.1:${ports.queue}/${account};` +
  `TableEndpoint=http://127.0.0.1:${ports.table}/${account};`;

ensureNodeModules();
const children = [];
const stop = (code) => {
  for (const child of children) child.kill("SIGTERM");
  process.exit(code);
};
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

const azurite = spawn(process.execPath, [
  azuriteBin, "--silent", "--disableTelemetry", "--skipApiVersionCheck",
  "--location", join(repoRoot, ".azurite"),
  "--blobHost", "127.0.0.1", "--blobPort", String(ports.blob),
  "--queueHost", "127.0.0.1", "--queuePort", String(ports.queue),
  "--tableHost", "127.0.0.1", "--tablePort", String(ports.table),
], { stdio: "inherit" });
children.push(azurite);
azurite.on("exit", (code) => { console.error(`Azurite exited (${code}).`); stop(1); });

await Promise.all(Object.values(ports).map(waitForPort));
console.log(`Azurite is up; starting Tracker at ${url}`);

const tracker = spawn("dotnet", ["run", "-c", "Release", "--project", join(repoRoot, "src", "Tracker.Functions"), "--", "--urls", url], {
  stdio: "inherit",
  env: {
    ...process.env,
    Tracker__Storage__ConnectionString: connectionString,
    Tracker__Diagnostics__StorageRequestHeader: "true",
  },
});
children.push(tracker);
tracker.on("exit", (code) => stop(code ?? 1));

function waitForPort(port) {
  const deadline = Date.now() + 60_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => { socket.end(); resolve(); });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`Azurite did not open port ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}
