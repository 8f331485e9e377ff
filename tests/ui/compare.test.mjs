// The comparison view (/compare?runs=…) against a seeded Tracker: run names and colours, the params/metrics diff table
// that hides equal columns, overlaid metric charts, scatter and parallel coordinates, choices kept in the URL; and the
// same view for 120 runs (runs loaded in batches, history fetched with get-history-bulk-interval's 100-run limit).
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

/** A 1280×800 page that records page errors and console errors (CSP refusals among them). */
async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  return { page, errors: recordErrors(page) };
}

const drawn = (locator) => locator.and(locator.page().locator('[data-drawn="true"]'));

test("two runs: names, the diff table hides equal columns, overlaid charts, scatter and parallel, choices in the URL", async () => {
  const { ids, experimentId } = await seedExperiment(tracker.api, "ui-compare-two", [
    { name: "cmp-alpha", params: { lr: "0.1", optimizer: "adam", batch_size: "32", seed: "7" }, metrics: { loss: [0.9, 0.6, 0.4], accuracy: [0.5, 0.7, 0.8] } },
    { name: "cmp-beta", params: { lr: "0.02", optimizer: "sgd", batch_size: "32", seed: "7" }, metrics: { loss: [1.2, 0.8, 0.5, 0.3], accuracy: [0.4, 0.6] } },
  ]);
  const { page, errors } = await openPage();
  await page.goto(`${tracker.url}/compare?runs=${ids["cmp-alpha"]},${ids["cmp-beta"]}`);

  const table = page.getByTestId("compare-table");
  const alpha = table.getByRole("link", { name: "cmp-alpha" });
  await alpha.waitFor();
  assert.equal(await alpha.getAttribute("href"), `/experiments/${experimentId}/runs/${ids["cmp-alpha"]}`);
  assert.equal(await table.getByRole("link", { name: "cmp-beta" }).getAttribute("href"), `/experiments/${experimentId}/runs/${ids["cmp-beta"]}`);

  // Differing params are columns with both values, marked as differing; equal ones (batch_size, seed) are hidden.
  const header = async () => (await table.getByRole("columnheader").allInnerTexts()).map((t) => t.trim());
  const rowOf = (name) => table.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
  let headers = await header();
  for (const key of ["lr", "optimizer", "loss", "accuracy"]) assert.ok(headers.some((h) => h.startsWith(key)), `${key} in ${headers}`);
  for (const key of ["batch_size", "seed"]) assert.ok(!headers.some((h) => h.startsWith(key)), `${key} hidden, in ${headers}`);
  assert.equal(await table.locator('th[data-differs="true"]', { hasText: "optimizer" }).count(), 1);
  const columns = (await table.locator("thead tr").last().locator("th").allInnerTexts()).map((t) => t.trim());
  const valueOf = async (run, key) => {
    // The first cell is the run; the last header row has no run column (the "Run" header spans both rows).
    const cells = await rowOf(run).locator("th, td").allInnerTexts();
    const index = columns.findIndex((c) => c === key || c.startsWith(`${key} `) || c.startsWith(`${key}\n`));
    assert.ok(index >= 0, `${key} in ${columns}`);
    return cells[index + 1].trim();
  };
  assert.equal(await valueOf("cmp-alpha", "lr"), "0.1");
  assert.equal(await valueOf("cmp-beta", "lr"), "0.02");
  assert.equal(await valueOf("cmp-alpha", "optimizer"), "adam");
  assert.equal(await valueOf("cmp-beta", "optimizer"), "sgd");
  assert.equal(await valueOf("cmp-alpha", "loss"), "0.4");
  assert.equal(await valueOf("cmp-beta", "loss"), "0.3");

  // A header sorts the rows (numbers as numbers), ascending then descending, in the URL.
  const firstRun = async () => (await table.locator("tbody tr").first().getByRole("link").innerText()).trim();
  assert.equal(await firstRun(), "cmp-alpha");
  await table.getByRole("button", { name: "loss", exact: true }).click();
  await page.waitForURL((u) => u.searchParams.get("sort") === "metric:loss");
  await table.locator("tbody tr").first().getByRole("link", { name: "cmp-beta" }).waitFor();
  assert.equal(await table.getByRole("columnheader", { name: /^loss/ }).getAttribute("aria-sort"), "ascending");
  await table.getByRole("button", { name: "loss", exact: true }).click();
  await page.waitForURL((u) => u.searchParams.get("sort") === "-metric:loss");
  await table.locator("tbody tr").first().getByRole("link", { name: "cmp-alpha" }).waitFor();
  await table.getByRole("button", { name: "lr", exact: true }).click();
  await page.waitForURL((u) => u.searchParams.get("sort") === "param:lr");
  await table.locator("tbody tr").first().getByRole("link", { name: "cmp-beta" }).waitFor(); // 0.02 < 0.1 as numbers
  assert.equal(await valueOf("cmp-beta", "lr"), "0.02");

  // The toggle shows the equal columns again, and is kept in the URL.
  await page.getByLabel("Hide columns where all runs are equal").uncheck();
  await page.waitForURL(/equal=show/);
  headers = await header();
  for (const key of ["batch_size", "seed"]) assert.ok(headers.some((h) => h.startsWith(key)), `${key} shown, in ${headers}`);
  assert.equal(await table.locator('th[data-differs="true"]', { hasText: "batch_size" }).count(), 0);

  // One overlaid chart per metric the runs share, both runs in its legend; the legend hides a series.
  const lossChart = drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: /^loss by step/ })));
  await lossChart.waitFor();
  assert.match(await lossChart.getAttribute("aria-label"), /, 2 runs$/);
  const lossLegend = page.getByRole("group", { name: "loss legend" });
  await lossLegend.getByRole("button", { name: "cmp-alpha" }).waitFor();
  await lossLegend.getByRole("button", { name: "cmp-beta" }).click();
  assert.equal(await lossLegend.getByRole("button", { name: "cmp-beta" }).getAttribute("aria-pressed"), "false");
  await drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: "loss by step, 1 of 2 runs" }))).waitFor();
  await drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: "accuracy by step, 2 runs" }))).waitFor();
  // A tooltip (plain text on the canvas) raises no CSP refusal.
  const box = await lossChart.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);

  // Zooming (ctrl + wheel) fetches the detail of the zoomed steps for every run; "Reset zoom" goes back.
  const detail = page.waitForRequest((r) => r.url().includes("get-history-bulk-interval") && new URL(r.url()).searchParams.has("start_step"));
  await page.keyboard.down("Control");
  await page.mouse.wheel(0, -600);
  await page.keyboard.up("Control");
  const zoomed = new URL((await detail).url()).searchParams;
  assert.equal(zoomed.get("metric_key"), "loss");
  assert.deepEqual(zoomed.getAll("run_ids").flatMap((v) => v.split(",")).sort(), [ids["cmp-alpha"], ids["cmp-beta"]].sort());
  assert.ok(Number(zoomed.get("end_step")) >= Number(zoomed.get("start_step")));
  await page.getByRole("button", { name: "Reset zoom" }).click();
  await page.getByRole("button", { name: "Reset zoom" }).waitFor({ state: "detached" });
  await drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: "loss by step, 1 of 2 runs" }))).waitFor();

  // The x axis and the charted metrics are in the URL.
  await page.getByLabel("X axis").selectOption("relative");
  await page.waitForURL((u) => u.searchParams.get("xaxis") === "relative");
  await drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: "accuracy by time, 2 runs" }))).waitFor();
  await page.getByText(/^Metrics \(2 of 2\)/).click();
  await page.getByRole("group", { name: "Metrics to chart" }).getByLabel("accuracy").uncheck();
  await page.waitForURL((u) => u.searchParams.get("metrics") === "loss");
  await page.getByRole("img", { name: /^accuracy by/ }).waitFor({ state: "detached" });
  await drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: "loss by time, 1 of 2 runs" }))).waitFor();
  await page.getByText(/^Metrics \(1 of 2\)/).click();

  // Scatter and parallel coordinates draw; x/y go into the URL and a reload restores them.
  await drawn(page.getByTestId("compare-scatter")).waitFor();
  await drawn(page.getByTestId("compare-parallel")).waitFor();
  // optimizer is a category axis (adam, sgd), loss a value axis.
  await page.getByLabel("Scatter X").selectOption("param:optimizer");
  await page.getByLabel("Scatter Y").selectOption("metric:loss");
  await page.waitForURL((u) => u.searchParams.get("x") === "param:optimizer" && u.searchParams.get("y") === "metric:loss");
  await drawn(page.getByTestId("compare-scatter").and(page.getByRole("img", { name: "loss against optimizer, 2 runs" }))).waitFor();
  // Parallel-coordinate dimensions are chosen in the URL too.
  assert.match(await page.getByTestId("compare-parallel").getAttribute("aria-label"), /^Parallel coordinates of lr, optimizer, accuracy, loss, 2 runs$/);
  await page.getByText(/^Dimensions \(4\)/).click();
  await page.getByRole("group", { name: "Parallel coordinates dimensions" }).getByLabel("param optimizer").uncheck();
  await page.getByRole("group", { name: "Parallel coordinates dimensions" }).getByLabel("param seed").check();
  await page.waitForURL((u) => u.searchParams.get("dims") === "param:lr,param:seed,metric:accuracy,metric:loss");
  await drawn(page.getByTestId("compare-parallel").and(page.getByRole("img", { name: "Parallel coordinates of lr, seed, accuracy, loss, 2 runs" }))).waitFor();
  await page.getByText(/^Dimensions \(4\)/).click();
  await screenshot(page, "compare");

  await page.reload();
  await drawn(page.getByTestId("compare-scatter").and(page.getByRole("img", { name: "loss against optimizer, 2 runs" }))).waitFor();
  assert.equal(await page.getByLabel("Scatter X").inputValue(), "param:optimizer");
  assert.equal(await page.getByLabel("Scatter Y").inputValue(), "metric:loss");
  assert.equal(await page.getByLabel("Hide columns where all runs are equal").isChecked(), false);
  await drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: "loss by time, 2 runs" }))).waitFor();
  assert.equal(await page.getByRole("img", { name: /^accuracy by/ }).count(), 0);
  await drawn(page.getByTestId("compare-parallel").and(page.getByRole("img", { name: "Parallel coordinates of lr, seed, accuracy, loss, 2 runs" }))).waitFor();
  await table.locator("tbody tr").first().getByRole("link", { name: "cmp-beta" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("an unknown run id is named in an alert, the others still compare", async () => {
  const { ids } = await seedExperiment(tracker.api, "ui-compare-missing", [{ name: "cmp-only", params: { lr: "1" }, metrics: { loss: [1, 2] } }]);
  const { page } = await openPage();
  const missing = ids["cmp-only"].slice(0, 24) + "ffffffff";
  await page.goto(`${tracker.url}/compare?runs=${ids["cmp-only"]},${missing}`);
  await page.getByTestId("compare-table").getByRole("link", { name: "cmp-only" }).waitFor();
  await page.getByRole("alert").filter({ hasText: missing }).waitFor();
  await page.close();
});

test("120 runs: all rows, every run in the overlaid chart, scatter and parallel draw", async () => {
  const runs = Array.from({ length: 120 }, (_, i) => ({
    name: `bulk-${String(i).padStart(3, "0")}`,
    params: { depth: String(1 + (i % 8)), lr: String((i + 1) / 1000), kind: i % 2 ? "tree" : "linear", same: "x" },
    metrics: { loss: Array.from({ length: 20 }, (_, s) => 1 / (1 + s + i)), auc: 0.5 + i / 1000 },
  }));
  const { ids } = await seedExperiment(tracker.api, "ui-compare-bulk", runs);
  const { page, errors } = await openPage();
  const requests = [];
  page.on("request", (r) => r.url().includes("/mlflow/") && requests.push(r));
  await page.goto(`${tracker.url}/compare?runs=${Object.values(ids).join(",")}`);
  const table = page.getByTestId("compare-table");
  await table.getByRole("link", { name: "bulk-119" }).waitFor();
  assert.equal(await table.locator("tbody tr").count(), 120);
  assert.equal(await table.getByRole("link", { name: "bulk-000" }).count(), 1);
  // Scrolled to the last row, the header row stays at the top of the table's box.
  const region = page.getByRole("region", { name: "Params and metrics of the compared runs" });
  await region.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await table.getByRole("link", { name: "bulk-119" }).scrollIntoViewIfNeeded();
  const regionBox = await region.boundingBox();
  const depthBox = await table.getByRole("columnheader", { name: /^depth/ }).boundingBox();
  assert.ok(depthBox.y >= regionBox.y && depthBox.y < regionBox.y + 60, `header at ${depthBox.y}, table box at ${regionBox.y}`);
  await drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: "loss by step, 120 runs" }))).waitFor();
  await drawn(page.getByTestId("compare-chart").and(page.getByRole("img", { name: "auc by step, 120 runs" }))).waitFor();
  assert.equal(await page.getByRole("group", { name: "loss legend" }).getByRole("button").count(), 120);
  await drawn(page.getByTestId("compare-scatter")).waitFor();
  await drawn(page.getByTestId("compare-parallel")).waitFor();
  assert.match(await page.getByTestId("compare-parallel").getAttribute("aria-label"), /120 runs/);

  // Runs came from runs/search in batches of at most 100 (no run fetched alone); each metric's history from
  // get-history-bulk-interval in batches of at most 100 run ids that together name every run once.
  const searches = requests.filter((r) => r.url().endsWith("/runs/search"));
  assert.equal(searches.length, 2);
  const searched = searches.flatMap((r) => JSON.parse(r.postData()).filter.match(/'[0-9a-f]{32}'/g));
  assert.equal(new Set(searched).size, 120);
  assert.equal(requests.filter((r) => r.url().includes("/runs/get")).length, 0);
  for (const key of ["loss", "auc"]) {
    const bulk = requests.filter((r) => r.url().includes("get-history-bulk-interval") && new URL(r.url()).searchParams.get("metric_key") === key);
    const batches = bulk.map((r) => new URL(r.url()).searchParams.getAll("run_ids"));
    assert.ok(batches.every((b) => b.length <= 100), `${key}: batches of ${batches.map((b) => b.length)}`);
    assert.deepEqual(batches.flat().sort(), Object.values(ids).sort(), key);
  }
  // The tooltip lists the highest values at the hovered step, not all 120.
  const lossBox = await page.getByRole("img", { name: "loss by step, 120 runs" }).boundingBox();
  await page.mouse.move(lossBox.x + lossBox.width * 0.3, lossBox.y + lossBox.height * 0.5);
  await screenshot(page, "compare-120");
  assert.deepEqual(errors, []);
  await page.close();
});
