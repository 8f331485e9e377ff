// The runs table of an experiment against a seeded Tracker: cells, MLflow filters, server-side sorting, selection for
// compare, nested runs, the keyboard, view state kept in the URL, and windowing at 2,500 runs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, recordErrors, screenshot, seedExperiment, startTracker } from "./harness.mjs";
import { seedManyRuns } from "./seed-many.mjs";

let tracker;
let browser;
let small; // { experimentId, ids }

before(async () => {
  tracker = await startTracker();
  browser = await launchBrowser();
  small = await seedExperiment(tracker.api, "ui-runs-small", [
    { name: "alpha", params: { max_depth: 5, lr: "0.1" }, metrics: { rmse: 0.9, acc: 0.71 }, tags: { team: "red" } },
    { name: "beta", params: { max_depth: 3, lr: "0.01" }, metrics: { rmse: 0.5, acc: 0.82 }, tags: { team: "blue" } },
    { name: "gamma", params: { max_depth: 5, lr: "0.3" }, metrics: { rmse: 1.4, acc: 0.55 } },
    { name: "parent", params: { max_depth: 7, lr: "0.2" }, metrics: { rmse: 0.8 } },
    { name: "child-a", parent: "parent", params: { max_depth: 7, lr: "0.21" }, metrics: { rmse: 0.6 } },
    { name: "child-b", parent: "parent", params: { max_depth: 7, lr: "0.22" }, metrics: { rmse: 0.7 } },
  ]);
});

after(async () => {
  await browser?.close();
  await tracker?.stop();
});

/** A 1280×800 page that records page errors (and console errors other than the failed requests a test provokes). */
async function openPage(path) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = recordErrors(page, { failedRequestsAllowed: true });
  await page.goto(tracker.url + path);
  await page.locator('[role=grid][data-ready="true"]').waitFor();
  return { page, errors };
}

/** The rendered data rows: { id, name, level, cells: { header text: cell text } }. */
function rowsOf(page) {
  return page.evaluate(() => {
    const grid = document.querySelector("[role=grid]");
    const heads = [...grid.querySelectorAll("thead th")].map((th) => th.textContent.replace(/[▲▼]/g, "").trim());
    return [...grid.querySelectorAll("tbody tr[role=row]")].map((tr) => ({
      id: tr.dataset.runId,
      name: tr.querySelector("td.name a").textContent.trim(),
      level: Number(tr.getAttribute("aria-level")),
      cells: Object.fromEntries([...tr.children].map((td, i) => [heads[i], td.textContent.trim()])),
    }));
  });
}

async function until(what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last === true) return;
    if (Date.now() > deadline) assert.fail(`Timed out waiting for ${what}; last saw ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const names = async (page) => (await rowsOf(page)).map((r) => r.name);

async function untilNames(page, expected, { sorted = false } = {}) {
  await until(`rows ${expected}`, async () => {
    const seen = await names(page);
    const got = sorted ? [...seen].sort() : seen;
    const want = sorted ? [...expected].sort() : expected;
    return JSON.stringify(got) === JSON.stringify(want) || seen;
  });
}

test("the seeded runs' values appear in their cells, under the experiment's name", async () => {
  const { page, errors } = await openPage(`/experiments/${small.experimentId}`);
  await page.getByRole("heading", { name: "ui-runs-small" }).waitFor();
  await until("all runs", async () => (await rowsOf(page)).length === 6);
  const rows = Object.fromEntries((await rowsOf(page)).map((r) => [r.name, r]));
  assert.equal(rows.alpha.id, small.ids.alpha);
  assert.equal(rows.alpha.cells["param max_depth"], "5");
  assert.equal(rows.alpha.cells["param lr"], "0.1");
  assert.equal(rows.alpha.cells["metric rmse"], "0.9");
  assert.equal(rows.alpha.cells["metric acc"], "0.71");
  assert.equal(rows.beta.cells["param max_depth"], "3");
  assert.equal(rows.beta.cells["metric rmse"], "0.5");
  assert.equal(rows.gamma.cells["metric acc"], "0.55");
  assert.equal(rows.gamma.cells.Status, "FINISHED");
  assert.equal(rows.parent.cells["metric acc"], "");
  assert.match(await page.getByTestId("runs-status").textContent(), /^6 runs, all loaded/);
  const link = page.getByRole("link", { name: "alpha", exact: true });
  assert.equal(await link.getAttribute("href"), `/experiments/${small.experimentId}/runs/${small.ids.alpha}`);
  await screenshot(page, "runs");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a filter narrows the rows to the matching runs and goes in the URL; a bad one shows the server's error and keeps the rows", async () => {
  const { page, errors } = await openPage(`/experiments/${small.experimentId}`);
  await until("all runs", async () => (await rowsOf(page)).length === 6);
  const box = page.getByLabel("Filter runs");
  await box.fill("params.max_depth = '5'");
  await box.press("Enter");
  await untilNames(page, ["alpha", "gamma"], { sorted: true });
  assert.equal(new URL(page.url()).searchParams.get("filter"), "params.max_depth = '5'");

  await box.fill("params.max_depth = '5' and metrics.rmse < 1");
  await box.press("Enter");
  await untilNames(page, ["alpha"]);

  await box.fill("params.max_depth >>> 5");
  await box.press("Enter");
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.textContent(), /INVALID_PARAMETER_VALUE/);
  assert.deepEqual(await names(page), ["alpha"]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("clicking a metric's header sorts by it on the server, ascending then descending", async () => {
  // Without the nested runs, the order of the rows is the order of the server.
  const { page, errors } = await openPage(`/experiments/${small.experimentId}?filter=${encodeURIComponent("params.max_depth != '7'")}`);
  await untilNames(page, ["alpha", "beta", "gamma"], { sorted: true });
  const header = page.getByRole("columnheader", { name: "metric rmse" });
  await header.getByRole("button").click();
  await untilNames(page, ["beta", "alpha", "gamma"]);
  assert.equal(await header.getAttribute("aria-sort"), "ascending");
  assert.equal(new URL(page.url()).searchParams.get("sort"), "metrics.rmse");
  await header.getByRole("button").click();
  await untilNames(page, ["gamma", "alpha", "beta"]);
  assert.equal(await header.getAttribute("aria-sort"), "descending");
  await page.getByRole("columnheader", { name: "param lr" }).getByRole("button").click();
  await untilNames(page, ["beta", "alpha", "gamma"]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("two selected runs open the compare view with both ids", async () => {
  const { page, errors } = await openPage(`/experiments/${small.experimentId}`);
  await page.getByLabel("Select alpha").check();
  await page.getByLabel("Select gamma").check();
  await until("selection in the URL", async () => (new URL(page.url()).searchParams.get("sel") ?? "").split(",").length === 2);
  await page.getByRole("button", { name: "Compare (2)" }).click();
  await page.waitForURL(/\/compare\?runs=/);
  const ids = new URL(page.url()).searchParams.get("runs").split(",");
  assert.deepEqual(ids.sort(), [small.ids.alpha, small.ids.gamma].sort());
  assert.deepEqual(errors, []);
  await page.close();
});

test("child runs are shown indented under their parent and collapse", async () => {
  const { page, errors } = await openPage(`/experiments/${small.experimentId}`);
  await until("all runs", async () => (await rowsOf(page)).length === 6);
  const rows = await rowsOf(page);
  const at = rows.findIndex((r) => r.name === "parent");
  assert.equal(rows[at].level, 1);
  assert.deepEqual(rows.slice(at + 1, at + 3).map((r) => [r.name, r.level]).sort(), [["child-a", 2], ["child-b", 2]]);
  assert.equal(rows.filter((r) => r.level === 2).length, 2);
  await page.getByRole("button", { name: "Collapse 2 child runs of parent" }).click();
  await untilNames(page, rows.map((r) => r.name).filter((n) => !n.startsWith("child-")));
  await page.getByRole("button", { name: "Expand 2 child runs of parent" }).click();
  await untilNames(page, rows.map((r) => r.name));
  assert.deepEqual(errors, []);
  await page.close();
});

test("the grid is one tab stop: Down moves the active row, Space selects it, Enter opens the run", async () => {
  const { page, errors } = await openPage(`/experiments/${small.experimentId}`);
  await until("all runs", async () => (await rowsOf(page)).length === 6);
  const rows = await rowsOf(page);
  const grid = page.getByRole("grid");
  await grid.focus();
  assert.equal(await grid.getAttribute("aria-activedescendant"), `run-row-${rows[0].id}`);
  await page.keyboard.press("ArrowDown");
  assert.equal(await grid.getAttribute("aria-activedescendant"), `run-row-${rows[1].id}`);
  await page.keyboard.press("Space");
  await until("Space selects", async () => new URL(page.url()).searchParams.get("sel") === rows[1].id);
  await page.keyboard.press("End");
  assert.equal(await grid.getAttribute("aria-activedescendant"), `run-row-${rows[5].id}`);
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp(`/experiments/${small.experimentId}/runs/${rows[1].id}$`));
  assert.deepEqual(errors, []);
  await page.close();
});

test("a reloaded URL restores the filter, the columns and the selection", async () => {
  const { page, errors } = await openPage(`/experiments/${small.experimentId}`);
  await page.getByLabel("Filter runs").fill("metrics.rmse < 1");
  await page.getByLabel("Filter runs").press("Enter");
  await untilNames(page, ["alpha", "beta", "parent", "child-a", "child-b"], { sorted: true });
  await page.getByText("Columns (").click();
  await page.getByRole("group", { name: "Tags" }).getByLabel("team").check();
  await page.getByRole("group", { name: "Metrics" }).getByLabel("acc").uncheck();
  await screenshot(page, "runs-columns");
  await page.getByLabel("Select beta").check();
  await until("view in the URL", async () => {
    const q = new URL(page.url()).searchParams;
    return (q.get("cols")?.includes("tags.team") && q.get("sel") === small.ids.beta) || q.toString();
  });

  await page.reload();
  await page.locator('[role=grid][data-ready="true"]').waitFor();
  assert.equal(await page.getByLabel("Filter runs").inputValue(), "metrics.rmse < 1");
  await untilNames(page, ["alpha", "beta", "parent", "child-a", "child-b"], { sorted: true });
  const rows = Object.fromEntries((await rowsOf(page)).map((r) => [r.name, r]));
  assert.equal(rows.beta.cells["tag team"], "blue");
  assert.equal(rows.alpha.cells["tag team"], "red");
  assert.equal(rows.alpha.cells["metric acc"], undefined);
  assert.ok(await page.getByLabel("Select beta").isChecked());
  assert.ok(!(await page.getByLabel("Select alpha").isChecked()));
  await page.getByRole("button", { name: "Compare (1)" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("deleted runs show on request, and select-all selects every loaded run", async () => {
  const { experimentId, ids } = await seedExperiment(tracker.api, "ui-runs-deleted", [{ name: "kept" }, { name: "gone" }, { name: "other" }]);
  await tracker.api("POST", "runs/delete", { run_id: ids.gone });
  const { page, errors } = await openPage(`/experiments/${experimentId}`);
  await untilNames(page, ["kept", "other"], { sorted: true });
  await page.getByLabel("Show deleted runs").check();
  await untilNames(page, ["gone", "kept", "other"], { sorted: true });
  assert.equal(new URL(page.url()).searchParams.get("deleted"), "1");
  assert.match(await page.locator(`tr[data-run-id="${ids.gone}"]`).textContent(), /\(deleted\)/);
  await page.getByLabel("Select all loaded runs").check();
  await page.getByRole("button", { name: "Compare (3)" }).waitFor();
  assert.deepEqual(new URL(page.url()).searchParams.get("sel").split(",").sort(), Object.values(ids).sort());
  await page.getByLabel("Select all loaded runs").uncheck();
  await page.getByRole("button", { name: "Compare (0)" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("2,500 runs: all load in the background, only a window of rows is in the DOM, and the end scrolls into view", async () => {
  const count = 2500;
  const { experimentId, ids } = await seedManyRuns(tracker.api, "ui-runs-many", count, (i) => ({ tags: { fold: i % 10 } }), { prefix: "many" });
  const { page, errors } = await openPage(`/experiments/${experimentId}?cols=tags.fold`);
  await until("every run loaded", async () => {
    const text = await page.getByTestId("runs-status").textContent();
    return text.startsWith("2,500 runs, all loaded") || text;
  });
  assert.equal(await page.getByRole("grid").getAttribute("aria-rowcount"), String(count + 1));
  const inDom = (await rowsOf(page)).length;
  assert.ok(inDom > 10 && inDom < 100, `${inDom} rows in the DOM`);
  // Newest first: the first run seeded is the last row.
  assert.equal((await rowsOf(page))[0].name, "many-2499");
  await page.locator(".runs-scroll").evaluate((box) => (box.scrollTop = box.scrollHeight));
  const last = page.locator(`tr[data-run-id="${ids[0]}"]`);
  await last.waitFor();
  assert.ok(await last.isVisible());
  assert.equal(await last.locator("td.name a").textContent(), "many-0000");
  assert.equal(await last.locator("td").last().textContent(), "0");
  assert.ok((await rowsOf(page)).length < 100);

  await page.getByRole("grid").focus();
  await page.keyboard.press("Home");
  await page.locator(`tr[data-run-id="${ids[count - 1]}"]`).waitFor();
  await page.keyboard.press("End");
  await until("End reaches the last run", async () => (await page.getByRole("grid").getAttribute("aria-activedescendant")) === `run-row-${ids[0]}`);
  assert.ok(await last.isVisible());
  await screenshot(page, "runs-many");
  assert.deepEqual(errors, []);
  await page.close();
});
