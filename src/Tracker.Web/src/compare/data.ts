// What the comparison reads from Tracker: the runs (in batches) and metric histories (get-history-bulk-interval, at
// most 100 run ids a call), with a small limit on requests in flight so 100+ runs never flood the server.
import { ApiError, get, post } from "../shared/api";
import type { Metric, Run } from "../shared/types";

/** Tracker's (and MLflow's) limit on run_ids per get-history-bulk-interval call (TrackingStore.MaxBulkRunIds). */
export const BULK_RUN_IDS = 100;
/** Tracker's limit on max_results of get-history-bulk-interval (TrackingStore.MaxBulkIntervalResults). */
export const BULK_MAX_RESULTS = 2500;
/** Run ids per runs/search: its `attributes.run_id IN (...)` list stays far below the 16 KB filter limit. */
const SEARCH_BATCH = 100;
/** Requests the comparison keeps in flight at once. */
const CONCURRENCY = 4;

let active = 0;
const waiting: (() => void)[] = [];

/** Runs `task` when one of the CONCURRENCY slots is free (shared by every request this view makes). */
async function limited<T>(task: () => Promise<T>): Promise<T> {
  // A finished task hands its slot straight to the next waiting one, so `active` never exceeds the limit.
  if (active >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  else active++;
  try {
    return await task();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else active--;
  }
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The experiment a Tracker run id belongs to: its last eight hex digits (Tracker.Core's RunIds), or null for an id
 * of another shape. Only used to batch runs/search by experiment; runs it does not find are fetched one by one.
 */
export function experimentOf(runId: string): string | null {
  return /^[0-9a-f]{32}$/.test(runId) ? String(parseInt(runId.slice(24), 16)) : null;
}

export interface LoadedRuns {
  runs: Run[];
  missing: string[];
}

/** The runs in `ids` order: runs/search by experiment in batches, then runs/get for any it did not return. */
export async function loadRuns(ids: string[], signal: AbortSignal): Promise<LoadedRuns> {
  const found = new Map<string, Run>();
  const byExperiment = new Map<string, string[]>();
  for (const id of ids) {
    const experiment = experimentOf(id);
    if (experiment !== null) byExperiment.set(experiment, [...(byExperiment.get(experiment) ?? []), id]);
  }
  const searches = [...byExperiment].flatMap(([experiment, group]) =>
    chunks(group, SEARCH_BATCH).map((batch) =>
      limited(async () => {
        try {
          const page = await post<{ runs?: Run[] }>(
            "runs/search",
            {
              experiment_ids: [experiment],
              filter: `attributes.run_id IN (${batch.map((id) => `'${id}'`).join(",")})`,
              run_view_type: "ALL",
              max_results: batch.length,
            },
            signal,
          );
          for (const run of page.runs ?? []) found.set(run.info.run_id, run);
        } catch (e) {
          if (signal.aborted) throw e;
          // An experiment that is not there (or not readable): the runs are looked up one by one below.
        }
      }),
    ),
  );
  await Promise.all(searches);

  const missing: string[] = [];
  await Promise.all(
    ids
      .filter((id) => !found.has(id))
      .map((id) =>
        limited(async () => {
          try {
            found.set(id, (await get<{ run: Run }>("runs/get", { run_id: id }, signal)).run);
          } catch (e) {
            if (e instanceof ApiError && (e.status === 404 || e.status === 400)) missing.push(id);
            else throw e;
          }
        }),
      ),
  );
  return { runs: ids.flatMap((id) => found.get(id) ?? []), missing };
}

export interface RunMetric extends Metric {
  run_id: string;
}

/**
 * One metric's history for every run, sampled to at most `maxSteps` steps per call (the server keeps each run's
 * first and last step), one call per 100 runs; only steps in `range` when given (a zoomed chart's detail).
 */
export async function loadHistories(
  key: string,
  runIds: string[],
  maxSteps: number,
  signal: AbortSignal,
  range?: { start: number; end: number },
): Promise<Map<string, Metric[]>> {
  const byRun = new Map<string, Metric[]>();
  const max = Math.max(1, Math.min(BULK_MAX_RESULTS, Math.round(maxSteps)));
  await Promise.all(
    chunks(runIds, BULK_RUN_IDS).map((batch) =>
      limited(async () => {
        const answer = await get<{ metrics?: RunMetric[] }>(
          "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
          { run_ids: batch, metric_key: key, max_results: max, start_step: range?.start, end_step: range?.end },
          signal,
        );
        for (const m of answer.metrics ?? []) {
          let list = byRun.get(m.run_id);
          if (!list) byRun.set(m.run_id, (list = []));
          list.push(m);
        }
      }),
    ),
  );
  return byRun;
}
