// azd's postprovision hook (azure.yaml): makes the first admin of a freshly provisioned Tracker and prints their token
// once. It runs the app's own admin command (`Tracker.Functions admin create-token`, src/Tracker.Functions/Admin)
// against the deployed storage account, signed in as the deployer: the admin command uses DefaultAzureCredential, which
// finds azd's (or az's) login, and infra/app/rbac.bicep gives the deploying principal (azd's AZURE_PRINCIPAL_ID) Storage
// Table Data Contributor on the account. azd hands the hook its environment's values, Bicep's outputs included, as
// environment variables; the storage endpoints come from those.
//
// Idempotent across `azd up` runs: after a token has been printed the hook records TRACKER_FIRST_ADMIN_CREATED=true in
// the azd environment and later runs print a note instead of minting more tokens. The token itself is never written
// anywhere (not to the azd environment's .env file either). Another admin token: `azd env set
// TRACKER_FIRST_ADMIN_CREATED false` and `azd hooks run postprovision`, or run the admin command yourself (README).
//
//   node scripts/first-admin.mjs             what the hook runs
//   node scripts/first-admin.mjs --dry-run   prints the command and the settings it would use, as JSON (tests)
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./local-tools.mjs";

const env = process.env;
const user = env.TRACKER_ADMIN_USER || "admin";
const marker = "TRACKER_FIRST_ADMIN_CREATED";
// Role assignments take minutes to reach Storage; until then the admin command gets a 403 from it.
const attempts = 10;
const retryDelaySeconds = 30;

const settings = {
  Tracker__Storage__TableServiceUri: env.AZURE_STORAGE_TABLE_ENDPOINT,
  Tracker__Storage__BlobServiceUri: env.AZURE_STORAGE_BLOB_ENDPOINT,
  Tracker__Storage__QueueServiceUri: env.AZURE_STORAGE_QUEUE_ENDPOINT,
  Tracker__Storage__ArtifactsContainer: env.AZURE_STORAGE_ARTIFACTS_CONTAINER,
  // Empty: DefaultAzureCredential (the deployer), not the app's managed identity, which exists only inside Azure.
  Tracker__Storage__ClientId: "",
  // A connection string left in the shell (e.g. for Azurite) would win over the URIs.
  Tracker__Storage__ConnectionString: "",
};
const command = "dotnet";
const args = [
  "run", "-c", "Release", "--project", join(repoRoot, "src", "Tracker.Functions"), "--",
  "admin", "create-token", "--user", user, "--admin", "--name", "azd-first-admin",
];

if (process.argv.includes("--dry-run")) {
  console.log(JSON.stringify({ command, args, env: settings }));
  process.exit(0);
}

if (env[marker] === "true") {
  console.log(`Tracker: the first admin token was printed by an earlier run (${marker}=true in this azd environment); not creating another.`);
  console.log(`  Another one: azd env set ${marker} false && azd hooks run postprovision`);
  process.exit(0);
}
const missing = Object.entries(settings).filter(([name, value]) => !value && name.endsWith("Uri")).map(([name]) => name);
if (missing.length > 0) {
  console.error(`Tracker: cannot create the first admin: azd gave no storage endpoints (${missing.join(", ")}). Run azd provision first.`);
  process.exit(1);
}

console.log(`Tracker: creating the first admin '${user}' in ${settings.Tracker__Storage__TableServiceUri} (builds the admin command first) ...`);
for (let attempt = 1; ; attempt++) {
  const run = spawnSync(command, args, {
    cwd: repoRoot,
    env: { ...env, ...settings, DOTNET_NOLOGO: "1", DOTNET_CLI_TELEMETRY_OPTOUT: "1" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  // stdout carries the token as its last line (dotnet run may print build notes before it); stderr the command's notes.
  const token = (run.stdout ?? "").split(/\r?\n/).map((line) => line.trim()).filter((line) => /^trk_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$/.test(line)).pop();
  if (run.status === 0 && token) {
    if (run.stderr) process.stderr.write(run.stderr);
    const uri = env.SERVICE_API_URI ?? "https://<your-app>.azurewebsites.net";
    console.log("");
    console.log(`Tracker: the first admin's token (shown only now; keep it like a password):`);
    console.log("");
    console.log(`  export MLFLOW_TRACKING_URI=${uri}`);
    console.log(`  export MLFLOW_TRACKING_TOKEN=${token}`);
    console.log("");
    const recorded = spawnSync("azd", ["env", "set", marker, "true"], { stdio: "ignore", shell: process.platform === "win32" });
    if (recorded.status !== 0) console.log(`(could not record ${marker} in the azd environment; a later azd up makes one more token)`);
    process.exit(0);
  }
  const output = `${run.stderr ?? ""}${run.error ? String(run.error) : ""}`;
  const forbidden = /403|AuthorizationPermissionMismatch|AuthorizationFailure|not authorized/i.test(output);
  if (!forbidden || attempt === attempts) {
    process.stderr.write(output);
    console.error(`Tracker: the first admin was not created (exit ${run.status}). Fix the cause and run: azd hooks run postprovision`);
    process.exit(1);
  }
  console.log(`  storage refused the deployer (role assignment not effective yet); retrying in ${retryDelaySeconds} s (${attempt}/${attempts}) ...`);
  await new Promise((resolve) => setTimeout(resolve, retryDelaySeconds * 1000));
}
