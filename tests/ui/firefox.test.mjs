// Every view in Firefox ESR (Debian's; driven over WebDriver BiDi by puppeteer-core, since Playwright drives only its own
// patched Firefox): each renders the seeded values, the runs filter and the charts work, and no page error occurs.
// The views' behaviour is tested in depth in Chromium (the other files); this checks they run in Firefox at all.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchFirefox, seedExperiment, startTracker } from "./harness.mjs";

let tracker;
let browser;
let seeded;

before(async () => {
  tracker = await startTracker();
  browser = await launchFirefox();
  const { experimentId, ids } = await seedExperiment(tracker.api, "ff-experiment", [
    { name: "ff-alpha", params: { max_depth: "5", optimizer: "adam" }, metrics: { loss: [1, 0.5, 0.25] } },
    { name: "ff-beta", params: { max_depth: "7", optimizer: "adam" }, metrics: { loss: [2, 1.5, 1.25] } },
  ]);
  await tracker.api("POST", "registered-models/create", { name: "ff-model" });
  await tracker.api("POST", "model-versions/create", { name: "ff-model", source: `runs:/${ids["ff-alpha"]}/model`, run_id: ids["ff-alpha"] });
  seeded = { experimentId, ids };
});

after(async () => {
  await browser?.close();
  await tracker?.stop();
});

async function open(path) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(tracker.url + path);
  return { page, errors };
}

const textOf = (page, selector) => page.$eval(selector, (el) => el.textContent ?? "");

test("experiments, runs table with a filter, run with a drawn chart, compare and models render in Firefox", { timeout: 120_000 }, async () => {
  const { experimentId, ids } = seeded;

  let { page, errors } = await open("/");
  await page.waitForSelector("[data-testid=experiments] a");
  assert.match(await textOf(page, "[data-testid=experiments]"), /ff-experiment/);
  await page.close();

  ({ page, errors } = await open(`/experiments/${experimentId}`));
  await page.waitForSelector('[role=grid][data-ready="true"]');
  const grid = await textOf(page, "[role=grid]");
  assert.ok(grid.includes("ff-alpha") && grid.includes("ff-beta"), grid);
  await page.type('[aria-label="Filter runs"]', "params.max_depth = '5'");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => !document.querySelector("[role=grid]")?.textContent?.includes("ff-beta"));
  assert.match(await textOf(page, "[role=grid]"), /ff-alpha/);
  assert.deepEqual(errors, []);
  await page.close();

  ({ page, errors } = await open(`/experiments/${experimentId}/runs/${ids["ff-alpha"]}`));
  await page.waitForSelector('[data-testid="metric-chart"][data-drawn="true"]');
  const body = await textOf(page, "main");
  assert.ok(body.includes("max_depth") && body.includes("adam"), body.slice(0, 500));
  assert.deepEqual(errors, []);
  await page.close();

  ({ page, errors } = await open(`/compare?runs=${ids["ff-alpha"]},${ids["ff-beta"]}`));
  await page.waitForSelector("[data-testid=compare-table]");
  await page.waitForSelector('[data-drawn="true"]');
  const compared = await textOf(page, "[data-testid=compare-table]");
  assert.ok(compared.includes("ff-alpha") && compared.includes("ff-beta") && compared.includes("max_depth"), compared);
  assert.deepEqual(errors, []);
  await page.close();

  ({ page, errors } = await open("/models/ff-model"));
  await page.waitForSelector("[data-testid=versions] tbody tr");
  assert.match(await textOf(page, "main"), /ff-model/);
  // The version's source run links to its run page.
  assert.ok(await page.$(`[data-testid=versions] a[href*="${ids["ff-alpha"]}"]`), "no link to the source run");
  assert.deepEqual(errors, []);
  await page.close();
});
