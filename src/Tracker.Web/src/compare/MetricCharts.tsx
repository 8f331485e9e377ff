// Overlaid metric charts: one chart per chosen metric key, one line per run in the run's colour, over step or time
// since the run started. Histories come sampled from get-history-bulk-interval (100 runs a call); the legend below a
// chart is a row of toggle buttons (readable and keyboard-reachable for 100+ runs, unlike a canvas legend).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Chart, type ChartOption } from "../charts/Chart";
import { describe } from "../shared/api";
import { formatNumber } from "../shared/format";
import type { Metric, Run } from "../shared/types";
import { richTextSafe, runName } from "./columns";
import { loadHistories } from "./data";

export type XMode = "step" | "relative";

/** Points one chart asks for in all: each run gets its share, between 100 and 1000 sampled steps. */
const POINT_BUDGET = 100_000;

/**
 * Tooltip lines at the hovered x, each with the run's colour: the highest values first, at most a dozen (100 runs'
 * lines would fill the screen). In richText mode ECharts' `marker` is a rich-text style of its own, never HTML.
 */
function axisTooltip(xMode: XMode) {
  return (items: { marker: string; seriesName: string; value: [number, number]; axisValue: number }[]) => {
    if (!items.length) return "";
    const sorted = [...items].sort((a, b) => b.value[1] - a.value[1]);
    const lines = sorted.slice(0, 12).map((p) => `${p.marker}${richTextSafe(p.seriesName)}: ${formatNumber(p.value[1])}`);
    if (sorted.length > 12) lines.push(`… and ${sorted.length - 12} more`);
    const x = xMode === "step" ? `step ${items[0].axisValue}` : `${formatNumber(items[0].axisValue)} s`;
    return [x, ...lines].join("\n");
  };
}

interface ChartProps {
  metricKey: string;
  runs: Run[];
  colors: string[];
  xMode: XMode;
}

export function MetricChart({ metricKey, runs, colors, xMode }: ChartProps) {
  const [histories, setHistories] = useState<Map<string, Metric[]> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  // The step range a zoom settled on: its detail is fetched (sampled afresh over just those steps).
  const [range, setRange] = useState<{ start: number; end: number } | null>(null);
  const runIds = runs.map((r) => r.info.run_id).join(",");
  const loadedFor = useRef("");
  const zoomTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => setRange(null), [xMode]);
  useEffect(() => () => clearTimeout(zoomTimer.current), []);

  useEffect(() => {
    const abort = new AbortController();
    // A new metric or set of runs starts over; a new zoom range keeps the chart up until its detail arrives.
    if (loadedFor.current !== `${metricKey} ${runIds}`) setHistories(null);
    setError(null);
    const maxSteps = Math.min(1000, Math.max(100, POINT_BUDGET / Math.max(1, runs.length)));
    loadHistories(metricKey, runs.map((r) => r.info.run_id), maxSteps, abort.signal, range ?? undefined).then(
      (loaded) => {
        loadedFor.current = `${metricKey} ${runIds}`;
        setHistories(loaded);
      },
      (e) => {
        if (!abort.signal.aborted) setError(describe(e));
      },
    );
    return () => abort.abort();
  }, [metricKey, runIds, range?.start, range?.end]);

  const onZoom = (zoomed: { start: number; end: number } | null) => {
    if (xMode !== "step") return;
    clearTimeout(zoomTimer.current);
    zoomTimer.current = setTimeout(() => setRange(zoomed && { start: Math.floor(zoomed.start), end: Math.ceil(zoomed.end) }), 250);
  };

  // Runs that logged this metric, with their colours (a run's colour is the same in every chart).
  const plotted = useMemo(
    () => (histories ? runs.map((run, i) => ({ run, color: colors[i], points: histories.get(run.info.run_id) })).filter((p) => p.points?.length) : []),
    [histories, runs, colors],
  );
  const visible = plotted.filter((p) => !hidden.has(p.run.info.run_id));

  const option = useMemo((): ChartOption => {
    const series = visible.map(({ run, color, points }) => {
      const start = Number(run.info.start_time ?? points![0].timestamp);
      const data =
        xMode === "step"
          ? points!.map((m) => [Number(m.step), m.value])
          : points!.map((m) => [(Number(m.timestamp) - start) / 1000, m.value]).sort((a, b) => Number(a[0]) - Number(b[0]));
      return {
        type: "line",
        id: run.info.run_id,
        name: runName(run),
        data,
        color,
        // Markers only where they help: short histories of a few runs (100 runs' markers would hide the lines).
        showSymbol: data.length === 1 || (data.length <= 30 && visible.length <= 20),
        symbolSize: 4,
        sampling: "lttb",
        lineStyle: { width: 1.5 },
        emphasis: { focus: "series" },
      };
    });
    return {
      animation: false,
      grid: { left: 56, right: 20, top: 16, bottom: 44 },
      xAxis: {
        type: "value",
        name: xMode === "step" ? "step" : "seconds since run start",
        nameLocation: "middle",
        nameGap: 26,
        min: "dataMin",
        max: "dataMax",
        minInterval: xMode === "step" ? 1 : undefined,
      },
      yAxis: { type: "value", scale: true },
      // Plain text tooltips (richText): run names never become HTML, and the CSP refuses inline style attributes.
      tooltip: {
        trigger: "axis",
        renderMode: "richText",
        confine: true,
        formatter: axisTooltip(xMode),
      },
      // A zoomed chart keeps its window when its detail replaces the data.
      dataZoom: [{ type: "inside", zoomOnMouseWheel: "ctrl", moveOnMouseWheel: false, ...(range ? { startValue: range.start, endValue: range.end } : {}) }],
      series,
    };
  }, [visible.map((p) => p.run.info.run_id).join(","), plotted, xMode, range]);

  const toggle = (runId: string) =>
    setHidden((old) => {
      const next = new Set(old);
      if (!next.delete(runId)) next.add(runId);
      return next;
    });

  const runsLabel = visible.length === plotted.length ? `${plotted.length} runs` : `${visible.length} of ${plotted.length} runs`;
  return (
    <figure class="compare-chart">
      <figcaption>
        {metricKey}
        {plotted.length > 0 && plotted.every((p) => p.points!.length === 1) && (
          <span class="hint"> — one value per run: the table, scatter plot and parallel coordinates compare it better</span>
        )}
      </figcaption>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : !histories ? (
        <p aria-busy="true" class="chart-placeholder">
          Loading {metricKey}…
        </p>
      ) : plotted.length === 0 ? (
        <p class="hint chart-placeholder">No run logged {metricKey}.</p>
      ) : (
        <>
          <Chart option={option} height={240} label={`${metricKey} by ${xMode === "step" ? "step" : "time"}, ${runsLabel}`} testId="compare-chart" onZoom={onZoom} />
          <div class="legend-actions">
            {range && (
              <span class="hint">
                Steps {range.start}–{range.end}{" "}
                <button type="button" class="link" onClick={() => setRange(null)}>
                  Reset zoom
                </button>
              </span>
            )}
            {plotted.length > 2 && (
              <>
                <button type="button" class="link" onClick={() => setHidden(new Set())} disabled={hidden.size === 0}>
                  Show all
                </button>
                <button type="button" class="link" onClick={() => setHidden(new Set(plotted.map((p) => p.run.info.run_id)))} disabled={visible.length === 0}>
                  Hide all
                </button>
              </>
            )}
          </div>
          <div class="legend" role="group" aria-label={`${metricKey} legend`}>
            {plotted.map(({ run, color }) => {
              const shown = !hidden.has(run.info.run_id);
              return (
                <button type="button" key={run.info.run_id} aria-pressed={shown} title={shown ? "Hide this run's line" : "Show this run's line"} onClick={() => toggle(run.info.run_id)}>
                  <span class="swatch" style={{ background: shown ? color : "transparent", borderColor: color }} aria-hidden="true" />
                  {runName(run)}
                </button>
              );
            })}
          </div>
        </>
      )}
    </figure>
  );
}
