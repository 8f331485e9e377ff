// What the browser tests (and bench/ui) run against: a real Tracker (the executable `dotnet build` made, auth off, its
// trigger queues polled locally) on its own Azurite (in memory, free ports), seeded through Tracker's REST API, and
// Debian's Chromium driven by playwright-core. Screenshots go to TestResults/ui/.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { repoRoot, azuriteBin } from "../../scripts/local-tools.mjs";
import { ensureChromium, ensureFirefox } from "../../scripts/ensure-packages.mjs";
import puppeteer from "puppeteer-core";

export const screenshotDir = join(repoRoot, "TestResults", "ui");
const trackerBin = join(repoRoot, "src", "Tracker.Functions", "bin", "Release", "net10.0", "linux-x64", "Tracker.Functions");
const account = "devstoreaccount1";
const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(check, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts Azurite and Tracker; returns { url, api, stop, output, storageEnv }. `env` adds Tracker settings. */
export async function startTracker(env = {}) {
  if (!existsSync(trackerBin)) throw new Error(`${trackerBin} is missing: run dotnet build -c Release first (npm test does).`);
  const [blob, queue, table, http] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const children = [];
  const output = [];
  const azurite = spawn(process.execPath, [azuriteBin, "--inMemoryPersistence", "--silent", "--disableTelemetry", "--skipApiVersionCheck",
    "--blobHost", "127.0.0.1", "--blobPort", String(blob), "--queueHost", "127.0.0.1", "--queuePort", String(queue),
    "--tableHost", "127.0.0.1", "--tablePort", String(table)], { stdio: "ignore" });
  children.push(azurite);
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};` +
    `BlobEndpoint=http://127.0.0.1:${blob}/${account};QueueEndpoint=http://127.0.0.1:${queue}/${account};TableEndpoint=http://127.0.0.1:${table}/${account};`;
  const url = `http://127.0.0.1:${http}`;
  const tracker = spawn(trackerBin, ["--urls", url], {
    env: {
      ...process.env,
      Tracker__Storage__ConnectionString: connectionString,
      Tracker__Auth__Disabled: "true",
      Tracker__Triggers__LocalPolling: "true",
      Logging__LogLevel__Default: "Warning",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(tracker);
  for (const stream of [tracker.stdout, tracker.stderr]) stream.on("data", (d) => output.push(String(d)));
  const stop = async () => {
    for (const child of children) child.kill("SIGTERM");
  };
  try {
    await waitFor(async () => (await fetch(`${url}/health`)).ok, "Tracker's /health");
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\n${output.join("")}`);
  }
  const api = async (method, path, body) => {
    const target = path.startsWith("/") ? url + path : `${url}/api/2.0/mlflow/${path}`;
    const response = await fetch(target, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
  return { url, api, stop, output, storageEnv: { Tracker__Storage__ConnectionString: connectionString } };
}

/** A new admin token from the same executable's `admin create-token` against the tracker's storage (as scripts/start-local.mjs). */
export function createAdminToken(tracker, user = "ui-admin", name = "ui-test") {
  const made = spawnSync(trackerBin, ["admin", "create-token", "--user", user, "--admin", "--name", name],
    { env: { ...process.env, ...tracker.storageEnv, Logging__LogLevel__Default: "Warning" }, encoding: "utf8" });
  const token = (made.stdout ?? "").split(/\r?\n/).map((line) => line.trim()).find((line) => line.startsWith("trk_"));
  if (made.status !== 0 || !token) throw new Error(`admin create-token failed (exit ${made.status}): ${made.stderr}`);
  return token;
}

/** Headless Debian Chromium; the caller closes it. */
export async function launchBrowser() {
  return chromium.launch({ executablePath: ensureChromium(), headless: true, args: ["--no-sandbox"] });
}

/** Headless Debian Firefox ESR over WebDriver BiDi (puppeteer-core); the caller closes it. */
export async function launchFirefox() {
  return puppeteer.launch({ browser: "firefox", executablePath: ensureFirefox(), headless: true });
}

/**
 * The page's errors and console errors (CSP refusals are console errors), collected as they happen; a test asserts the
 * list stays empty. With `failedRequestsAllowed`, the "Failed to load resource" lines of requests the test makes fail
 * on purpose (a wrong token, a bad filter) are left out.
 */
export function recordErrors(page, { failedRequestsAllowed = false } = {}) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && !(failedRequestsAllowed && m.text().startsWith("Failed to load resource")) && errors.push(m.text()));
  return errors;
}

/** A full-page screenshot under TestResults/ui/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** An experiment with runs: each { name, params, metrics, tags, parent } (metrics: { key: value | [values by step] }). */
export async function seedExperiment(api, name, runs) {
  const { experiment_id: experimentId } = await api("POST", "experiments/create", { name });
  const ids = {};
  for (const run of runs) {
    const tags = Object.entries(run.tags ?? {}).map(([key, value]) => ({ key, value }));
    if (run.parent) tags.push({ key: "mlflow.parentRunId", value: ids[run.parent] });
    const created = await api("POST", "runs/create", { experiment_id: experimentId, run_name: run.name, start_time: Date.now(), tags });
    const runId = created.run.info.run_id;
    ids[run.name] = runId;
    const now = Date.now();
    const metrics = [];
    for (const [key, value] of Object.entries(run.metrics ?? {}))
      (Array.isArray(value) ? value : [value]).forEach((v, step) => metrics.push({ key, value: v, timestamp: now + step, step }));
    const params = Object.entries(run.params ?? {}).map(([key, value]) => ({ key, value: String(value) }));
    for (let i = 0; i < Math.max(metrics.length, 1); i += 1000)
      await api("POST", "runs/log-batch", { run_id: runId, metrics: metrics.slice(i, i + 1000), params: i === 0 ? params : [] });
    if (run.status !== "RUNNING") await api("POST", "runs/update", { run_id: runId, status: run.status ?? "FINISHED", end_time: now + 1000 });
  }
  return { experimentId, ids };
}
