// `npm start`: a complete local Tracker. Azurite (data kept in .azurite/, so a restart keeps your experiments) and
// Tracker at http://127.0.0.1:5000 (override with TRACKER_URL). Ctrl-C stops both.
// Auth is off (Tracker__Auth__Disabled, which Tracker refuses unless it listens on loopback only). TRACKER_AUTH=on
// turns it on and first prints a new admin token, made with the app's own admin command against the same Azurite.
import { spawn, spawnSync } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { repoRoot, azuriteBin, ensureNodeModules } from "./local-tools.mjs";

const url = process.env.TRACKER_URL ?? "http://127.0.0.1:5000";
const authOn = process.env.TRACKER_AUTH === "on";
const project = join(repoRoot, "src", "Tracker.Functions");
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
const env = {
  ...process.env,
  Tracker__Storage__ConnectionString: connectionString,
  Tracker__Diagnostics__StorageRequestHeader: "true",
  Tracker__Auth__Disabled: authOn ? "false" : "true",
  // No Functions host locally: Tracker polls its trigger queues itself (Triggers/LocalQueuePoller).
  Tracker__Triggers__LocalPolling: "true",
};
if (authOn) {
  // The admin command of the same build prints only the token on stdout (dotnet run's build notes may come first).
  console.log("Azurite is up; building Tracker and creating an admin token (TRACKER_AUTH=on) ...");
  const admin = spawnSync("dotnet", ["run", "-c", "Release", "--project", project, "--",
    "admin", "create-token", "--user", "local-admin", "--admin", "--name", "npm start"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const token = (admin.stdout ?? "").split(/\r?\n/).map((line) => line.trim()).filter((line) => line.startsWith("trk_")).pop();
  if (admin.status !== 0 || !token) {
    console.error(`Could not create an admin token (exit ${admin.status}).`);
    stop(1);
  }
  console.log(`Auth is on. A new admin token for 'local-admin' (shown only now):\n\n  export MLFLOW_TRACKING_URI=${url}\n  export MLFLOW_TRACKING_TOKEN=${token}\n`);
} else {
  console.log(`Auth is off (allowed on loopback only): no credentials needed. To require them: TRACKER_AUTH=on npm start (prints an admin token).`);
}
console.log(`Starting Tracker at ${url}`);

const tracker = spawn("dotnet", ["run", "-c", "Release", ...(authOn ? ["--no-build"] : []), "--project", project, "--", "--urls", url], {
  stdio: "inherit",
  env,
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
