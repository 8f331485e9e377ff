// One metric's history as a line chart. The overview comes from the downsampled history endpoint (the server samples
// at most 2,500 steps of however many were logged, always keeping the first and last); zooming asks the same endpoint
// for the visible step range, so a zoomed-in view shows the real points, not the overview's samples.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Chart, type ChartOption } from "../charts/Chart";
import { describe, get } from "../shared/api";
import { formatNumber } from "../shared/format";

export type XAxis = "step" | "time" | "relative";

export interface Point {
  step: number;
  timestamp: number;
  value: number;
}

interface BulkResponse {
  metrics?: { key: string; value: number | string; timestamp: number | string; step: number | string; run_id: string }[];
}

const HISTORY = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval";
/** Steps the server samples for a chart (the overview, and the detail of a zoomed range): about one per pixel. */
const OVERVIEW_POINTS = 1200;
/** Points a series may have before it is drawn without symbols and animation, and sampled (LTTB) to the pixels. */
const BIG_SERIES = 500;
/** Waits for a zoom to settle before asking for its detail. */
const ZOOM_SETTLE_MS = 200;

export async function fetchHistory(runId: string, key: string, range: { start: number; end: number } | null, signal?: AbortSignal): Promise<Point[]> {
  const answer = await get<BulkResponse>(
    HISTORY,
    { run_ids: runId, metric_key: key, ...(range ? { start_step: range.start, end_step: range.end } : {}), max_results: OVERVIEW_POINTS },
    signal,
  );
  return (answer.metrics ?? []).map((m) => ({ step: Number(m.step), timestamp: Number(m.timestamp), value: Number(m.value) })).sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
}

const prefetched = new Map<string, Promise<Point[]>>();

/** Starts loading a chart's overview before the chart mounts; the chart takes it over (once). */
export function prefetchHistory(runId: string, key: string) {
  const id = `${runId}\n${key}`;
  if (prefetched.has(id)) return;
  const promise = fetchHistory(runId, key, null);
  promise.catch(() => {}); // its chart reports a failure; one never taken over is no unhandled rejection
  prefetched.set(id, promise);
}

function takePrefetched(runId: string, key: string): Promise<Point[]> | undefined {
  const id = `${runId}\n${key}`;
  const promise = prefetched.get(id);
  prefetched.delete(id);
  return promise;
}

/** x of a point on the chosen axis; relative time is seconds since the history's first point. */
function xOf(p: Point, axis: XAxis, origin: number): number {
  return axis === "step" ? p.step : axis === "time" ? p.timestamp : (p.timestamp - origin) / 1000;
}

/**
 * The step range an x range covers among the loaded points, widened to the loaded points just outside it, so the
 * detail joins the overview on both sides. For time axes this maps times back to the steps logged at them.
 */
export function stepRange(points: Point[], axis: XAxis, origin: number, start: number, end: number): { start: number; end: number } | null {
  if (points.length === 0) return null;
  const byX = axis === "step" ? points : [...points].sort((a, b) => xOf(a, axis, origin) - xOf(b, axis, origin));
  let lo = 0;
  while (lo + 1 < byX.length && xOf(byX[lo + 1], axis, origin) <= start) lo++;
  let hi = byX.length - 1;
  while (hi - 1 >= 0 && xOf(byX[hi - 1], axis, origin) >= end) hi--;
  if (hi < lo) [lo, hi] = [hi, lo];
  let min = Infinity;
  let max = -Infinity;
  for (let i = lo; i <= hi; i++) {
    min = Math.min(min, byX[i].step);
    max = Math.max(max, byX[i].step);
  }
  return { start: min, end: max };
}

/** The overview with the detail put in place of the overview's samples inside the detail's step range. */
export function mergeDetail(overview: Point[], detail: Point[], range: { start: number; end: number }): Point[] {
  const before = overview.filter((p) => p.step < range.start);
  const after = overview.filter((p) => p.step > range.end);
  return [...before, ...detail, ...after];
}

export function MetricChart({ runId, metricKey, axis }: { runId: string; metricKey: string; axis: XAxis }) {
  const [overview, setOverview] = useState<Point[] | null>(null);
  const [detail, setDetail] = useState<{ range: { start: number; end: number }; points: Point[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The zoom window in x units: kept across redraws (a new option would reset it), not a reason to redraw by itself.
  const zoom = useRef<{ start: number; end: number } | null>(null);
  const pending = useRef<{ timer?: ReturnType<typeof setTimeout>; abort?: AbortController }>({});
  const figure = useRef<HTMLElement>(null);
  const [near, setNear] = useState(false);

  // A run with many metrics loads the histories of the charts on (or near) the screen, not all of them at once.
  useEffect(() => {
    if (!figure.current) return;
    // Charts on the first screen load at once: the observer's first report can wait behind the chart library's
    // evaluation on the main thread.
    if (figure.current.getBoundingClientRect().top < innerHeight + 400) {
      setNear(true);
      return;
    }
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && setNear(true), { rootMargin: "400px" });
    observer.observe(figure.current);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (!near) return;
    const abort = new AbortController();
    (takePrefetched(runId, metricKey) ?? fetchHistory(runId, metricKey, null, abort.signal)).then((points) => !abort.signal.aborted && setOverview(points), (e) => !abort.signal.aborted && setError(describe(e)));
    return () => {
      abort.abort();
      clearTimeout(pending.current.timer);
      pending.current.abort?.abort();
    };
  }, [runId, metricKey, near]);

  // A new x axis starts unzoomed: the old window is in other units.
  useEffect(() => {
    zoom.current = null;
    setDetail(null);
  }, [axis]);

  const points = useMemo(() => (overview && detail ? mergeDetail(overview, detail.points, detail.range) : overview), [overview, detail]);
  const origin = useMemo(() => (overview && overview.length ? Math.min(...overview.map((p) => p.timestamp)) : 0), [overview]);

  const option = useMemo<ChartOption | null>(() => {
    if (!points) return null;
    const data = points.map((p) => [xOf(p, axis, origin), p.value]);
    if (axis !== "step") data.sort((a, b) => a[0] - b[0]);
    const big = data.length > BIG_SERIES;
    const window = zoom.current ? { startValue: zoom.current.start, endValue: zoom.current.end } : {};
    return {
      animation: !big,
      grid: { left: 64, right: 24, top: 16, bottom: 72 },
      // In canvas: the HTML tooltip writes inline style attributes, which the UI's CSP refuses.
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: {
        type: axis === "time" ? "time" : "value",
        name: axis === "step" ? "step" : axis === "time" ? "time" : "seconds",
        nameLocation: "middle",
        nameGap: 24,
        min: "dataMin",
        max: "dataMax",
        ...(axis === "step" ? { minInterval: 1 } : {}),
      },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: (v: number) => formatNumber(v) } },
      dataZoom: [
        { type: "inside", xAxisIndex: 0, filterMode: "none", ...window },
        { type: "slider", xAxisIndex: 0, filterMode: "none", height: 20, bottom: 8, ...window },
      ],
      series: [
        {
          type: "line",
          name: metricKey,
          data,
          showSymbol: !big && data.length < 50,
          sampling: "lttb",
          animation: !big,
          lineStyle: { width: 1.5 },
        },
      ],
    };
  }, [points, axis, origin, metricKey]);

  function onZoom(range: { start: number; end: number } | null) {
    zoom.current = range;
    clearTimeout(pending.current.timer);
    pending.current.abort?.abort();
    if (!range) {
      if (detail) setDetail(null);
      return;
    }
    const base = points ?? [];
    pending.current.timer = setTimeout(() => {
      const steps = stepRange(base, axis, origin, range.start, range.end);
      if (!steps) return;
      const abort = new AbortController();
      pending.current.abort = abort;
      fetchHistory(runId, metricKey, steps, abort.signal).then(
        (points) => !abort.signal.aborted && setDetail({ range: steps, points }),
        (e) => !abort.signal.aborted && setError(describe(e)),
      );
    }, ZOOM_SETTLE_MS);
  }

  const last = overview && overview.length ? overview[overview.length - 1] : undefined;
  return (
    <figure ref={figure} class="metric-chart" data-metric={metricKey} data-points={points?.length} data-detail={detail ? `${detail.range.start}-${detail.range.end}` : undefined}>
      <figcaption>
        <strong>{metricKey}</strong>
        {last && <span class="hint"> last {formatNumber(last.value)} at step {last.step}</span>}
      </figcaption>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!option ? (
        !error && <p aria-busy="true">Loading…</p>
      ) : points!.length === 0 ? (
        <p class="hint">No points.</p>
      ) : (
        <Chart option={option} label={`${metricKey} over ${axis === "step" ? "steps" : axis === "time" ? "time" : "relative time"}`} testId="metric-chart" height={260} onZoom={onZoom} />
      )}
    </figure>
  );
}
