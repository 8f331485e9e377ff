// The run view against a seeded Tracker: info, params, tags and latest metrics; a chart per metric, one of them with
// 100,000 points, whose x axis lives in the URL and whose zoom loads the real points of the visible steps; the
// artifacts browser's previews and download, and an HTML artifact that is never rendered as a page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { deflateSync } from "node:zlib";
import { launchBrowser, recordErrors, screenshot, startTracker } from "./harness.mjs";

const BIG = 100_000;
const bigValue = (step) => 0.1 + Math.exp(-step / 20000) + 0.05 * Math.sin(step / 500);
/** How the view shows a value (shared/format.ts: six significant digits for values of ordinary size). */
const shown = (value) => String(Number(value.toPrecision(6)));
const HTML = '<!doctype html><html><body><script>window.__pwned = 1</script><h1 id="pwned">x</h1></body></html>';
const CSV = 'name,comment,score\nalpha,"likes, commas",1.5\nbeta,"says ""hi""\nover two lines",2\n';
const JSON_TEXT = '{"best_epoch":7,"scores":{"f1":0.91}}';
const TEXT = "training finished\nno warnings\n";
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="5"><script>window.__pwned = 2</script><rect width="4" height="5" fill="teal"/></svg>';

let tracker;
let browser;
let seeded;

/** A valid 3×2 RGB PNG, built here so the test needs no binary fixture. */
function tinyPng() {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(3, 0);
  header.writeUInt32BE(2, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 20, 20, 20, 200, 200, 200, 90, 90, 90]);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

async function upload(runInfo, path, body) {
  const root = runInfo.artifact_uri.replace(/^mlflow-artifacts:\/*/, "");
  const response = await fetch(`${tracker.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, { method: "PUT", body });
  assert.equal(response.status, 200, `upload ${path}: ${await response.text()}`);
  return `/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`;
}

before(async () => {
  tracker = await startTracker();
  browser = await launchBrowser();
  const { api } = tracker;
  const { experiment_id: experimentId } = await api("POST", "experiments/create", { name: "ui-run-view" });
  const start = Date.now() - 3_600_000;
  const parent = (await api("POST", "runs/create", { experiment_id: experimentId, run_name: "sweep-parent", start_time: start })).run.info;
  const { run } = await api("POST", "runs/create", {
    experiment_id: experimentId,
    run_name: "big-curve",
    user_id: "ada",
    start_time: start,
    tags: [
      { key: "team", value: "vision <b>bold</b>" },
      { key: "mlflow.parentRunId", value: parent.run_id },
      { key: "mlflow.source.name", value: "train.py" },
    ],
  });
  const info = run.info;
  await api("POST", "runs/log-batch", {
    run_id: info.run_id,
    params: [
      { key: "learning_rate", value: "0.003" },
      { key: "optimizer", value: "adamw" },
    ],
    metrics: [0.5, 0.75, 0.875].map((value, step) => ({ key: "accuracy", value, step, timestamp: start + step * 1000 })),
  });
  // 100,000 points over steps 0..99999, a second apart, in log-batch calls of 1000 (the most one call may carry).
  const batches = [];
  for (let from = 0; from < BIG; from += 1000)
    batches.push(Array.from({ length: 1000 }, (_, i) => ({ key: "loss", value: bigValue(from + i), step: from + i, timestamp: start + (from + i) * 1000 })));
  for (let i = 0; i < batches.length; i += 4)
    await Promise.all(batches.slice(i, i + 4).map((metrics) => api("POST", "runs/log-batch", { run_id: info.run_id, metrics })));
  await api("POST", "runs/update", { run_id: info.run_id, status: "FINISHED", end_time: start + BIG * 1000 });

  const files = {
    "notes.txt": TEXT,
    "summary.json": JSON_TEXT,
    "table.csv": CSV,
    "plot.png": tinyPng(),
    "report.html": HTML,
    "vector.svg": SVG,
    "logs/nested.log": "epoch 1 done\n",
  };
  const urls = {};
  for (const [path, body] of Object.entries(files)) urls[path] = await upload(info, path, body);
  seeded = { experimentId, info, parent, files, urls, page: `${tracker.url}/experiments/${experimentId}/runs/${info.run_id}` };
});

after(async () => {
  await browser?.close();
  await tracker?.stop();
});

async function newPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  return { page, errors: recordErrors(page) };
}

/** What the chart's canvas shows now; waitForRedraw waits until it shows something else, drawn to the end. */
async function pixels(chart) {
  return chart.evaluate((el) => el.querySelector("canvas").toDataURL());
}

async function waitForRedraw(page, chart, before) {
  const element = await chart.elementHandle();
  await page.waitForFunction(([el, old]) => el.getAttribute("data-drawn") === "true" && el.querySelector("canvas").toDataURL() !== old, [element, before], { polling: 100 });
}

/**
 * Mouse-wheel zoom (ECharts' "inside" data zoom) over the middle of the plot, as a user would, until the range the
 * view settled on is small enough for the server to send every step of it (at most 2,500). Returns that step range.
 */
async function zoomIn(page, chart) {
  const metric = await chart.evaluate((el) => el.closest("[data-metric]").dataset.metric);
  await chart.hover();
  const box = await chart.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3);
  let range = null;
  for (let round = 0; round < 20 && !(range && range[1] - range[0] < 1200); round++) {
    for (let i = 0; i < 10; i++) {
      await page.mouse.wheel(0, -300);
      await page.waitForTimeout(20);
    }
    const changed = await page.waitForFunction(
      ([key, old]) => {
        const now = document.querySelector(`[data-metric="${key}"]`)?.getAttribute("data-detail");
        return now && now !== old ? now : null;
      },
      [metric, range?.join("-") ?? null],
      { polling: 50 },
    );
    range = (await changed.jsonValue()).split("-").map(Number);
  }
  return range;
}

/** The real points of the loss history in a step range, as the server has them. */
async function lossPoints(page, [start, end]) {
  return page.evaluate(
    async ([s, e]) => (await (await fetch(`/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=${location.pathname.split("/").pop()}&metric_key=loss&start_step=${s}&end_step=${e}&max_results=2500`)).json()).metrics,
    [start, end],
  );
}

test("the run view shows info, params, tags, latest metrics and a chart per metric, the 100k-point one included", { timeout: 180_000 }, async () => {
  const { page, errors } = await newPage();
  const started = Date.now();
  await page.goto(seeded.page);
  const loss = page.locator('[data-metric="loss"] [data-testid="metric-chart"]');
  await loss.and(page.locator('[data-drawn="true"]')).waitFor();
  console.log(`# 100k-point chart drawn ${Date.now() - started} ms after navigation (debug figure, not asserted)`);
  await page.locator('[data-metric="accuracy"] [data-testid="metric-chart"][data-drawn="true"]').waitFor();

  await page.getByRole("heading", { level: 1, name: "big-curve" }).waitFor();
  const info = page.getByTestId("run-info");
  for (const text of [seeded.info.run_id, "FINISHED", "ada", "27h 47m" /* 100,000 s */, "active", "ui-run-view", seeded.info.artifact_uri])
    assert.ok((await info.innerText()).includes(text), `run info lacks ${text}: ${await info.innerText()}`);
  assert.equal(await info.getByRole("link", { name: seeded.parent.run_id }).getAttribute("href"), `/experiments/${seeded.experimentId}/runs/${seeded.parent.run_id}`);
  assert.equal(await info.getByRole("link", { name: "ui-run-view" }).getAttribute("href"), `/experiments/${seeded.experimentId}`);

  const params = page.getByTestId("params");
  assert.equal(await params.getByRole("row").filter({ hasText: "learning_rate" }).getByRole("cell").innerText(), "0.003");
  assert.equal(await params.getByRole("row").filter({ hasText: "optimizer" }).getByRole("cell").innerText(), "adamw");

  // Tag values are text: the markup in one is shown, not applied.
  const tags = page.getByTestId("tags");
  assert.equal(await tags.getByRole("row").filter({ hasText: "team" }).getByRole("cell").innerText(), "vision <b>bold</b>");
  assert.equal(await tags.locator("b").count(), 0);
  assert.equal(await tags.getByText("mlflow.source.name").count(), 0, "system tags are hidden by default");
  await page.getByLabel("Show system tags").check();
  await page.waitForURL(/[?&]system=1/);
  assert.equal(await tags.getByRole("row").filter({ hasText: "mlflow.source.name" }).getByRole("cell").innerText(), "train.py");

  const metrics = page.getByTestId("metrics");
  const lossRow = metrics.getByRole("row").filter({ hasText: "loss" }).getByRole("cell");
  assert.equal(await lossRow.nth(0).innerText(), shown(bigValue(BIG - 1)));
  assert.equal(await lossRow.nth(1).innerText(), String(BIG - 1));
  assert.equal(await metrics.getByRole("row").filter({ hasText: "accuracy" }).getByRole("cell").first().innerText(), "0.875");

  // The overview is the server's sample of the 100,000 points (at most 2,500 steps), not the whole history.
  const overview = Number(await page.locator('[data-metric="loss"]').getAttribute("data-points"));
  assert.ok(overview > 1000 && overview <= 2502, `overview points: ${overview}`);
  assert.equal(await page.locator('[data-metric="accuracy"]').getAttribute("data-points"), "3");
  await screenshot(page, "run");
  assert.deepEqual(errors, []);
  await page.close();
});

test("the x axis switches between step, wall time and relative time, kept in the URL, and each switch redraws", { timeout: 180_000 }, async () => {
  const { page, errors } = await newPage();
  await page.goto(seeded.page);
  const loss = page.locator('[data-metric="loss"] [data-testid="metric-chart"]');
  await loss.and(page.locator('[data-drawn="true"]')).waitFor();
  for (const [label, x, aria] of [
    ["Wall time", "time", "loss over time"],
    ["Relative time", "relative", "loss over relative time"],
    ["Step", null, "loss over steps"],
  ]) {
    const before = await pixels(loss);
    await page.getByLabel("X axis").selectOption({ label });
    if (x) await page.waitForURL(new RegExp(`[?&]x=${x}(&|$)`));
    else await page.waitForURL((url) => !url.searchParams.has("x"));
    await waitForRedraw(page, loss, before);
    assert.equal(await loss.getAttribute("aria-label"), aria);
    assert.equal(await loss.getAttribute("data-drawn"), "true");
  }
  // A shared URL opens on its axis.
  await page.goto(`${seeded.page}?x=relative`);
  assert.equal(await page.getByLabel("X axis").inputValue(), "relative");
  await page.locator('[data-metric="loss"] [aria-label="loss over relative time"][data-drawn="true"]').waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("zooming a chart loads the real points of the visible steps and redraws", { timeout: 180_000 }, async () => {
  const { page, errors } = await newPage();
  await page.goto(seeded.page);
  const figure = page.locator('[data-metric="loss"]');
  const loss = figure.getByTestId("metric-chart");
  await loss.and(page.locator('[data-drawn="true"]')).waitFor();
  const overview = Number(await figure.getAttribute("data-points"));

  const detail = page.waitForResponse((r) => {
    const url = new URL(r.url());
    return url.pathname.endsWith("/metrics/get-history-bulk-interval") && url.searchParams.get("metric_key") === "loss" && url.searchParams.has("start_step");
  });
  const before = await pixels(loss);
  const settledRange = await zoomIn(page, loss);
  await waitForRedraw(page, loss, before);
  const response = await detail;
  const url = new URL(response.url());
  const start = Number(url.searchParams.get("start_step"));
  const end = Number(url.searchParams.get("end_step"));
  assert.ok(start >= 0 && end <= BIG - 1 && start < end, `range ${start}..${end}`);

  // The settled detail is every logged step of its range, at its real value.
  const [shownStart, shownEnd] = settledRange;
  assert.equal(await figure.getAttribute("data-detail"), `${shownStart}-${shownEnd}`);
  assert.ok(shownStart > BIG * 0.3 && shownEnd < BIG * 0.7 && shownEnd - shownStart < 1200, `zoomed range ${shownStart}..${shownEnd}`);
  const points = Number(await figure.getAttribute("data-points"));
  assert.ok(points > overview, `after zooming ${points} points, overview ${overview}`);
  const settled = await lossPoints(page, settledRange);
  assert.deepEqual(settled.map((m) => Number(m.step)), Array.from({ length: shownEnd - shownStart + 1 }, (_, i) => shownStart + i));
  for (const m of settled) assert.equal(Number(m.value), bigValue(Number(m.step)));
  assert.equal(await loss.getAttribute("data-drawn"), "true");

  // On the wall-time axis the zoomed times are mapped back to the steps logged at them.
  await page.goto(`${seeded.page}?x=time`);
  const timed = page.locator('[data-metric="loss"] [data-testid="metric-chart"]');
  await timed.and(page.locator('[aria-label="loss over time"][data-drawn="true"]')).waitFor();
  const [timeStart, timeEnd] = await zoomIn(page, timed);
  // Zoomed about the middle of the plot: the middle of the run's time, where it logged the middle steps.
  assert.ok(timeStart > BIG * 0.3 && timeEnd < BIG * 0.7 && timeEnd - timeStart < 1200, `wall-time zoom range ${timeStart}..${timeEnd}`);
  assert.ok(Number(await page.locator('[data-metric="loss"]').getAttribute("data-points")) > overview);
  assert.deepEqual(errors, []);
  await page.close();
});

test("artifacts preview as text, JSON, a CSV table and an image, download their bytes, and HTML is only ever text", { timeout: 180_000 }, async () => {
  const { page, errors } = await newPage();
  await page.goto(seeded.page);
  const tree = page.getByTestId("artifact-tree");
  const preview = page.getByTestId("artifact-preview");

  await tree.getByRole("button", { name: "notes.txt" }).click();
  await page.waitForURL(/artifact=notes\.txt/);
  await preview.locator("pre").filter({ hasText: "no warnings" }).waitFor();
  assert.equal(await preview.locator("pre").textContent(), TEXT);

  await tree.getByRole("button", { name: "summary.json" }).click();
  await preview.locator("pre").filter({ hasText: '"best_epoch": 7' }).waitFor();
  assert.deepEqual(JSON.parse(await preview.locator("pre").innerText()), JSON.parse(JSON_TEXT));

  await tree.getByRole("button", { name: "logs/" }).click();
  await tree.getByRole("button", { name: "nested.log" }).click();
  await page.waitForURL(/artifact=logs%2Fnested\.log/);
  await preview.locator("pre").filter({ hasText: "epoch 1 done" }).waitFor();

  await tree.getByRole("button", { name: "table.csv" }).click();
  const table = preview.getByRole("table");
  await table.waitFor();
  assert.deepEqual(await table.getByRole("columnheader").allInnerTexts(), ["name", "comment", "score"]);
  assert.equal(await table.getByRole("row").filter({ hasText: "alpha" }).getByRole("cell").nth(1).innerText(), "likes, commas");
  assert.equal(await table.getByRole("row").filter({ hasText: "beta" }).getByRole("cell").nth(1).evaluate((td) => td.textContent), 'says "hi"\nover two lines');
  await preview.scrollIntoViewIfNeeded();
  await screenshot(page, "run-artifacts");

  // Download: the file's own bytes, fetched through the API and saved from a blob: URL.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
  assert.equal(download.suggestedFilename(), "table.csv");
  assert.equal(await readFile(await download.path(), "utf8"), CSV);

  await tree.getByRole("button", { name: "plot.png" }).click();
  const image = preview.getByRole("img", { name: "Preview of plot.png" });
  await image.waitFor();
  await page.waitForFunction(() => document.querySelector(".artifact-image")?.complete);
  assert.deepEqual(await image.evaluate((img) => [img.naturalWidth, img.naturalHeight, img.src.startsWith("blob:")]), [3, 2, true]);
  const [png] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
  assert.deepEqual(await readFile(await png.path()), seeded.files["plot.png"]);

  // SVG: an image from a blob: URL, where its script never runs.
  await tree.getByRole("button", { name: "vector.svg" }).click();
  const vector = preview.getByRole("img", { name: "Preview of vector.svg" });
  await vector.waitFor();
  await page.waitForFunction(() => document.querySelector(".artifact-image")?.complete && document.querySelector(".artifact-image").alt.endsWith(".svg"));
  assert.deepEqual(await vector.evaluate((img) => [img.naturalWidth, img.naturalHeight, img.src.startsWith("blob:")]), [4, 5, true]);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);

  // HTML: its source as text; its script never runs and its markup never becomes elements.
  await tree.getByRole("button", { name: "report.html" }).click();
  await preview.locator("pre").filter({ hasText: "window.__pwned" }).waitFor();
  assert.equal(await preview.locator("pre").textContent(), HTML);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator("#pwned").count(), 0);

  // A shared URL opens on its file.
  await page.goto(`${seeded.page}?artifact=summary.json`);
  await page.getByTestId("artifact-preview").locator("pre").filter({ hasText: '"f1": 0.91' }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("the HTML artifact's download URL opened in the browser is an attachment under a sandbox CSP, never a page", { timeout: 180_000 }, async () => {
  const url = tracker.url + seeded.urls["report.html"];
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-disposition"), /^attachment;\s*filename=("?)report\.html\1$/);
  assert.equal(response.headers.get("content-security-policy"), "sandbox");
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  assert.equal(await response.text(), HTML);

  const { page } = await newPage();
  const [download, navigation] = await Promise.all([page.waitForEvent("download"), page.goto(url).then(() => null, (e) => e)]);
  assert.equal(download.suggestedFilename(), "report.html");
  assert.equal(await readFile(await download.path(), "utf8"), HTML);
  assert.match(String(navigation?.message), /Download is starting/);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator("#pwned").count(), 0);
  await page.close();
});
