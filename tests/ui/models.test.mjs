// The models views against a seeded registry: the list with latest versions and aliases, a model's versions with
// stages, aliases, tags and source runs, and promotions requested from the UI form reaching their outcome through the
// queue consumer (polled locally), with the gate's figures shown.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, recordErrors, screenshot, seedExperiment, startTracker } from "./harness.mjs";

let tracker;
let browser;
let seeded;
const model = "ui-model-alpha";

before(async () => {
  tracker = await startTracker();
  browser = await launchBrowser();
  const api = tracker.api;
  // The gate compares each version's source run's latest value of the metric (no logged model here).
  const { experimentId, ids } = await seedExperiment(api, "ui-models-exp", [
    { name: "run-a", metrics: { val_loss: [0.5, 0.3] } },
    { name: "run-b", metrics: { val_loss: [0.4, 0.25] } },
    { name: "run-c", metrics: { val_loss: 0.9 } },
  ]);
  await api("POST", "registered-models/create", { name: model, description: "Classifies seeded things.", tags: [{ key: "team", value: "vision" }] });
  await api("POST", "registered-models/create", { name: "ui-model-beta" });
  for (const run of ["run-a", "run-b", "run-c"])
    await api("POST", "model-versions/create", { name: model, source: `runs:/${ids[run]}/model`, run_id: ids[run] });
  await api("POST", "model-versions/transition-stage", { name: model, version: "1", stage: "Production", archive_existing_versions: false });
  await api("POST", "registered-models/alias", { name: model, alias: "champion", version: "1" });
  await api("POST", "model-versions/set-tag", { name: model, version: "2", key: "framework", value: "sklearn" });
  seeded = { experimentId, ids };
});

after(async () => {
  await browser?.close();
  await tracker?.stop();
});

async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // A refusal the test provokes is answered 400 ("Failed to load resource"); anything else logged as an error fails.
  return { page, errors: recordErrors(page, { failedRequestsAllowed: true }) };
}

test("the models list shows each model's latest versions per stage and its aliases, and searches by name", async () => {
  const { page, errors } = await openPage();
  await page.goto(tracker.url + "/models");
  const table = page.getByTestId("models");
  const alpha = table.getByRole("row").filter({ has: page.getByRole("link", { name: model, exact: true }) });
  await alpha.waitFor();
  await alpha.getByText("Production: v1").waitFor();
  await alpha.getByText("None: v3").waitFor();
  await alpha.getByText("@champion: v1").waitFor();
  await table.getByRole("link", { name: "ui-model-beta" }).waitFor();
  await screenshot(page, "models");

  await page.getByLabel("Search models by name").fill("BETA");
  await page.waitForURL(/q=BETA/);
  await table.getByRole("link", { name: model }).waitFor({ state: "detached" });
  await table.getByRole("link", { name: "ui-model-beta" }).waitFor();

  await page.getByLabel("Search models by name").fill("alpha");
  await table.getByRole("link", { name: model }).click();
  await page.waitForURL(/\/models\/ui-model-alpha$/);
  await page.getByRole("heading", { name: model }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("the models list pages through the registry's pages", async () => {
  // 52 models matching "ui-page-": a first page of 50 (the view's page size), a second of 2.
  const names = Array.from({ length: 52 }, (_, i) => `ui-page-${String(i).padStart(2, "0")}`);
  for (const name of names) await tracker.api("POST", "registered-models/create", { name });
  const { page, errors } = await openPage();
  await page.goto(tracker.url + "/models?q=ui-page-");
  const links = page.getByTestId("models").getByRole("link");
  await links.first().waitFor();
  assert.deepEqual(await links.allTextContents(), names.slice(0, 50));
  assert.equal(await page.getByRole("button", { name: "Previous page" }).isDisabled(), true);
  await page.getByRole("button", { name: "Next page" }).click();
  await page.getByTestId("models").getByRole("link", { name: "ui-page-51" }).waitFor();
  assert.deepEqual(await links.allTextContents(), names.slice(50));
  assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
  await page.getByRole("button", { name: "Previous page" }).click();
  await page.getByTestId("models").getByRole("link", { name: "ui-page-00" }).waitFor();
  assert.equal(await links.count(), 50);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a model shows its description, tags, aliases and versions with stages, tags and source runs", async () => {
  const { page, errors } = await openPage();
  await page.goto(`${tracker.url}/models/${model}`);
  const facts = page.getByTestId("model-facts");
  await facts.getByText("team=vision").waitFor();
  await facts.getByText("@champion → v1").waitFor();
  await page.getByText("Classifies seeded things.").waitFor();
  const versions = page.getByTestId("versions");
  const v1 = versions.locator('tr[data-version="1"]');
  const v2 = versions.locator('tr[data-version="2"]');
  await v1.getByRole("cell", { name: "Production" }).waitFor();
  await v1.getByRole("cell", { name: "@champion" }).waitFor();
  await v1.getByRole("cell", { name: "READY" }).waitFor();
  await v2.getByRole("cell", { name: "None" }).waitFor();
  await v2.getByText("framework=sklearn").waitFor();
  const runLink = v2.getByRole("link", { name: seeded.ids["run-b"] });
  await runLink.waitFor();
  assert.equal(await runLink.getAttribute("href"), `/experiments/${seeded.experimentId}/runs/${seeded.ids["run-b"]}`);
  await screenshot(page, "model");
  assert.deepEqual(errors, []);
  await page.close();
});

test("promotions requested from the form reach their outcome with the gate's figures; a refusal by the API is shown inline", async () => {
  const { page, errors } = await openPage();
  await page.goto(`${tracker.url}/models/${model}`);
  const form = page.getByRole("form", { name: "Request a promotion" });
  await page.getByTestId("versions").locator('tr[data-version="3"]').waitFor();

  // The API's own validation, shown inline: a gate without a metric.
  await form.getByLabel("Version", { exact: true }).selectOption("2");
  await form.getByRole("button", { name: "Request promotion" }).click();
  await form.getByRole("alert").filter({ hasText: "metric" }).waitFor();

  // v2 (val_loss 0.25) against Production's holder v1 (0.3), 5 % regression allowed: passes, bound 0.315.
  await form.getByLabel("Metric", { exact: true }).fill("val_loss");
  await form.getByLabel("Max regression (relative)").fill("0.05");
  await form.getByRole("button", { name: "Request promotion" }).click();
  await form.getByRole("alert").waitFor({ state: "detached" });
  const history = page.getByTestId("promotions");
  const passed = history.locator('tr[data-status="succeeded"]');
  await passed.waitFor({ timeout: 60_000 });
  await passed.getByText("v2 → stage Production").waitFor();
  await passed.getByText("val_loss, lower is better; max regression 0.05").waitFor();
  await passed.getByRole("cell", { name: "0.25", exact: true }).waitFor();
  await passed.getByRole("cell", { name: "0.3 (v1)" }).waitFor();
  await passed.getByRole("cell", { name: "0.315", exact: true }).waitFor();
  // The versions are read again once decided: v2 holds Production, v1 was archived.
  const versions = page.getByTestId("versions");
  await versions.locator('tr[data-version="2"]').getByRole("cell", { name: "Production" }).waitFor();
  await versions.locator('tr[data-version="1"]').getByRole("cell", { name: "Archived" }).waitFor();

  // v3 (0.9) against the new holder v2 (0.25): rejected, with the figures and the reason.
  await form.getByLabel("Version", { exact: true }).selectOption("3");
  await form.getByRole("button", { name: "Request promotion" }).click();
  const rejected = history.locator('tr[data-status="rejected"]');
  await rejected.waitFor({ timeout: 60_000 });
  await rejected.getByText("v3 → stage Production").waitFor();
  await rejected.getByRole("cell", { name: "0.9", exact: true }).waitFor();
  await rejected.getByRole("cell", { name: "0.25 (v2)" }).waitFor();
  await rejected.getByRole("cell", { name: "0.2625", exact: true }).waitFor();
  await rejected.getByText(/Candidate version 3 has val_loss = 0\.9, outside the allowed bound 0\.2625/).waitFor();
  await versions.locator('tr[data-version="3"]').getByRole("cell", { name: "None" }).waitFor();
  await screenshot(page, "model-promotions");

  const stored = await tracker.api("GET", `/api/2.0/tracker/promotions/search?name=${model}`);
  assert.deepEqual(stored.promotions.map((p) => [p.version, p.status]), [["3", "rejected"], ["2", "succeeded"]]);
  assert.deepEqual(errors, []);
  await page.close();
});
