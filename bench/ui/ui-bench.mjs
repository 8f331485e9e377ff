// The web UI's benchmark (issue 12): in headless Chromium against a local Tracker (tests/ui/harness.mjs: the Release
// build, its own in-memory Azurite, auth off), the time from navigation start to
//   (a) the runs table's first page being interactive, with 10,000 runs in the experiment, and
//   (b) a drawn chart of a 100,000-point metric on the run page.
// Median of 5 fresh page loads each (a new browser context per load: no HTTP cache, no state), after one load of each
// that is not counted (the server's first requests compile their code paths). Prints figures; asserts nothing.
//
//   dotnet build -c Release src/Tracker.Functions && node bench/ui/ui-bench.mjs [--runs 10000] [--points 100000] [--samples 5]
import { launchBrowser, startTracker } from "../../tests/ui/harness.mjs";
import { seedManyRuns } from "../../tests/ui/seed-many.mjs";

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a positive integer.`);
  return value;
}

const runs = option("runs", 10_000);
const points = option("points", 100_000);
const samples = option("samples", 5);
const GOAL_MS = 1000;
// How long one page load may take before the bench gives up on it (a missing view, a broken build).
const LOAD_TIMEOUT_MS = 30_000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(1)} ms`;
const log = (line) => console.log(line);

// Installed before any page script: records performance.now() (milliseconds since navigation start) the first time
// the page shows what is being waited for. A MutationObserver sees the attribute the moment it is set, rather than at
// the next poll.
const markWhenShown = (selector) => {
  const shown = () => {
    for (const el of document.querySelectorAll(selector)) {
      const box = el.getBoundingClientRect();
      if (box.width > 0 && box.height > 0) return true;
    }
    return false;
  };
  const check = () => {
    if (window.__benchMark === undefined && shown()) {
      window.__benchMark = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, childList: true, attributes: true });
};

/** One fresh load of `path`: the time from navigation start until `selector` is shown, or null when `absent()` says the view is missing. */
async function timeLoad(browser, url, selector, absentSelector) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.addInitScript(markWhenShown, selector);
    await page.goto(url);
    try {
      const handle = await page.waitForFunction(() => window.__benchMark, undefined, { timeout: LOAD_TIMEOUT_MS, polling: 50 });
      return await handle.jsonValue();
    } catch (e) {
      if (absentSelector && (await page.locator(absentSelector).count()) === 0) return null;
      throw new Error(`${url}: ${selector} not shown within ${LOAD_TIMEOUT_MS} ms (${e.message.split("\n")[0]}); page errors: ${errors.join("; ") || "none"}`);
    }
  } finally {
    await context.close();
  }
}

async function measure(browser, label, url, selector, absentSelector) {
  const warm = await timeLoad(browser, url, selector, absentSelector);
  if (warm === null) return null;
  const times = [];
  for (let i = 0; i < samples; i++) {
    const t = await timeLoad(browser, url, selector, absentSelector);
    if (t === null) return null;
    times.push(t);
  }
  const m = median(times);
  log(`${label}: median ${ms(m)} (samples ${times.map((t) => t.toFixed(1)).join(", ")} ms; warm-up load ${ms(warm)}) — goal < ${GOAL_MS} ms: ${m < GOAL_MS ? "met" : "NOT met"}`);
  return m;
}

const tracker = await startTracker();
let browser;
try {
  const stamp = `${Date.now()}`;
  log(`Workload: one experiment of ${runs.toLocaleString("en-US")} runs (5 params, 5 metrics, 3 tags each); one run with a ${points.toLocaleString("en-US")}-point metric; headless Chromium at 1280×800; median of ${samples} fresh page loads after one uncounted load.`);

  let t = Date.now();
  const table = await seedManyRuns(
    tracker.api,
    `ui-bench-runs-${stamp}`,
    runs,
    (i) => ({
      params: Object.fromEntries([0, 1, 2, 3, 4].map((k) => [`p${k}`, `v${(i * (k + 1)) % 10}`])),
      metrics: Object.fromEntries([0, 1, 2, 3, 4].map((k) => [`m${k}`, ((i * 7919 + k * 104729) % 10007) / 10007])),
      tags: Object.fromEntries([0, 1, 2].map((k) => [`t${k}`, `tag${(i + k) % 5}`])),
    }),
    { prefix: "bench", concurrency: 16 },
  );
  log(`Seeded ${runs.toLocaleString("en-US")} runs in ${((Date.now() - t) / 1000).toFixed(1)} s.`);

  t = Date.now();
  const { experiment_id: historyExperiment } = await tracker.api("POST", "experiments/create", { name: `ui-bench-history-${stamp}` });
  const created = await tracker.api("POST", "runs/create", { experiment_id: historyExperiment, run_name: "long-history", start_time: Date.now() });
  const runId = created.run.info.run_id;
  const t0 = Date.now();
  for (let from = 0; from < points; from += 1000) {
    const metrics = [];
    for (let step = from; step < Math.min(points, from + 1000); step++)
      metrics.push({ key: "loss", value: Math.exp(-step / (points / 5)) + 0.05 * Math.sin(step / 50), timestamp: t0 + step, step });
    await tracker.api("POST", "runs/log-batch", { run_id: runId, metrics });
  }
  log(`Logged ${points.toLocaleString("en-US")} points of metric "loss" in ${((Date.now() - t) / 1000).toFixed(1)} s.`);

  browser = await launchBrowser();
  await measure(
    browser,
    `runs table, first page interactive (${runs.toLocaleString("en-US")} runs)`,
    `${tracker.url}/experiments/${table.experimentId}`,
    '[role=grid][data-ready="true"] tbody tr[role=row]',
  );
  const chart = await measure(
    browser,
    `metric chart drawn (${points.toLocaleString("en-US")} points)`,
    `${tracker.url}/experiments/${historyExperiment}/runs/${runId}`,
    '[data-testid="metric-chart"][data-drawn="true"]',
    '[data-testid="metric-chart"]',
  );
  if (chart === null) log("chart: run view not available (no [data-testid=metric-chart] on the run page)");
} finally {
  await browser?.close();
  await tracker.stop();
}
