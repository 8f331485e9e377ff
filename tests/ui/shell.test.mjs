// The UI as served: headers of every kind of response, and the experiments view against a seeded Tracker.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, recordErrors, screenshot, seedExperiment, startTracker } from "./harness.mjs";

let tracker;
let browser;

before(async () => {
  tracker = await startTracker();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await tracker?.stop();
});

async function headersOf(path, init) {
  const response = await fetch(tracker.url + path, init);
  await response.arrayBuffer();
  return response;
}

test("index.html is never cached and carries a strict CSP", async () => {
  for (const path of ["/", "/experiments/1", "/experiments/1/runs/abc", "/compare?runs=a,b", "/models", "/models/m"]) {
    const response = await headersOf(path);
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get("content-type"), /^text\/html/, path);
    assert.equal(response.headers.get("cache-control"), "no-cache", path);
    const csp = response.headers.get("content-security-policy");
    assert.match(csp, /script-src 'self'(;|$)/, path);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.match(csp, /object-src 'none'/, path);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
  }
});

test("index.html has no inline script, and its assets are fingerprinted and cached for a year", async () => {
  const html = await (await fetch(tracker.url + "/")).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "an inline <script>");
  assert.doesNotMatch(html, /\son[a-z]+=/i, "an inline event handler");
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.some((a) => a.endsWith(".js")) && assets.some((a) => a.endsWith(".css")), `assets: ${assets}`);
  for (const asset of assets) {
    assert.match(asset, /-[A-Za-z0-9_-]{8,}\.(js|css)$/, `${asset} is not fingerprinted`);
    const response = await headersOf(asset);
    assert.equal(response.status, 200, asset);
    assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable", asset);
    assert.match(response.headers.get("content-security-policy"), /script-src 'self'/, asset);
    const compressed = await headersOf(asset, { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(compressed.headers.get("content-encoding"), "gzip", asset);
  }
  const missing = await headersOf("/assets/nope-12345678.js");
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get("content-type"), /json/);
});

test("the API routes keep theirs: an unknown API path is MLflow's 404, not the UI", async () => {
  const response = await fetch(tracker.url + "/api/2.0/mlflow/nope");
  assert.equal(response.status, 404);
  assert.equal((await response.json()).error_code, "ENDPOINT_NOT_FOUND");
  const config = await (await fetch(tracker.url + "/ui-config.json")).json();
  assert.equal(config.auth, false);
  // index.html carries the same settings (HTML-encoded), so the first view needs no round trip for them.
  const html = await (await fetch(tracker.url + "/experiments/1")).text();
  const meta = html.match(/<meta name="tracker-config" content="([^"]*)"/);
  assert.ok(meta, "no tracker-config meta tag");
  assert.deepEqual(JSON.parse(meta[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&")), config);
});

test("the experiments view lists, searches, creates, renames, deletes and restores", async () => {
  await seedExperiment(tracker.api, "ui-shell-alpha", [{ name: "r1", params: { lr: "0.1" }, metrics: { loss: 0.5 } }]);
  await seedExperiment(tracker.api, "ui-shell-beta", []);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // A failed request the test provokes (the duplicate name) is no error.
  const errors = recordErrors(page, { failedRequestsAllowed: true });
  await page.goto(tracker.url + "/");
  const table = page.getByTestId("experiments");
  await table.getByRole("link", { name: "ui-shell-alpha" }).waitFor();
  await table.getByRole("link", { name: "ui-shell-beta" }).waitFor();
  await screenshot(page, "experiments");

  await page.getByLabel("Search experiments by name").fill("ALPHA");
  await page.waitForURL(/q=ALPHA/);
  await table.getByRole("link", { name: "ui-shell-beta" }).waitFor({ state: "detached" });
  await table.getByRole("link", { name: "ui-shell-alpha" }).waitFor();
  await page.getByLabel("Search experiments by name").fill("");

  await page.getByLabel("New experiment name").fill("ui-shell-gamma");
  await page.getByRole("button", { name: "Create" }).click();
  const gamma = table.getByRole("row").filter({ hasText: "ui-shell-gamma" });
  await gamma.waitFor();
  await gamma.getByRole("button", { name: "Rename" }).click();
  await page.getByLabel("New name for ui-shell-gamma").fill("ui-shell-delta");
  await page.getByRole("button", { name: "Save" }).click();
  const delta = table.getByRole("row").filter({ hasText: "ui-shell-delta" });
  await delta.waitFor();
  const { experiment } = await tracker.api("GET", "experiments/get-by-name?experiment_name=ui-shell-delta");
  assert.equal(experiment.lifecycle_stage, "active");

  await delta.getByRole("button", { name: "Delete" }).click();
  await delta.waitFor({ state: "detached" });
  assert.equal((await tracker.api("GET", `experiments/get?experiment_id=${experiment.experiment_id}`)).experiment.lifecycle_stage, "deleted");
  await page.getByLabel("Which experiments").selectOption("DELETED_ONLY");
  await delta.getByRole("button", { name: "Restore" }).click();
  await delta.waitFor({ state: "detached" });
  assert.equal((await tracker.api("GET", `experiments/get?experiment_id=${experiment.experiment_id}`)).experiment.lifecycle_stage, "active");

  // An error from the API is shown inline: a duplicate name.
  await page.getByLabel("Which experiments").selectOption("ACTIVE_ONLY");
  await page.getByLabel("New experiment name").fill("ui-shell-alpha");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("alert").filter({ hasText: "RESOURCE_ALREADY_EXISTS" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});
