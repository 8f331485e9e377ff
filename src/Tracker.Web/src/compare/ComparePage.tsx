// Comparing runs (/compare?runs=id1,id2,…): a params/metrics diff table, overlaid metric charts, a scatter plot and
// parallel coordinates, every run in one colour throughout. Every choice lives in the URL (equal, metrics, xaxis, x, y,
// dims), so a shared URL reopens the same comparison.
import { useEffect, useMemo, useState } from "preact/hooks";
import { describe } from "../shared/api";
import { setQuery, useLocation } from "../shared/router";
import type { Run } from "../shared/types";
import { buildColumns, runColor, runName, sharedMetricKeys, sortedOrder, type Column } from "./columns";
import { loadRuns, type LoadedRuns } from "./data";
import { DiffTable, type Sort } from "./DiffTable";
import { MetricChart, type XMode } from "./MetricCharts";
import { ParallelPlot, ScatterPlot } from "./Plots";

/** A list parameter the user emptied on purpose ("~" is no valid MLflow key), as opposed to absent: use defaults. */
const NONE = "~";
const DEFAULT_CHARTS = 4;
const DEFAULT_DIMENSIONS = 8;

function listParam(value: string | null): string[] | null {
  if (value === null) return null;
  if (value === NONE) return [];
  return value.split(",").filter(Boolean);
}

function writeList(ids: string[]): string {
  return ids.length === 0 ? NONE : ids.join(",");
}

export function ComparePage() {
  const { query } = useLocation();
  const runsParam = query.get("runs") ?? "";
  const ids = useMemo(() => [...new Set(runsParam.split(",").map((s) => s.trim()).filter(Boolean))], [runsParam]);
  const [loaded, setLoaded] = useState<LoadedRuns | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (ids.length === 0) return;
    const abort = new AbortController();
    setLoaded(null);
    setError(null);
    loadRuns(ids, abort.signal).then(setLoaded, (e) => {
      if (!abort.signal.aborted) setError(describe(e));
    });
    return () => abort.abort();
  }, [ids]);

  if (ids.length === 0)
    return (
      <section>
        <h1>Compare runs</h1>
        <p class="hint">No runs chosen: select runs in an experiment's runs table and compare them, or open /compare?runs=id1,id2.</p>
      </section>
    );
  if (error)
    return (
      <section>
        <h1>Compare runs</h1>
        <p role="alert" class="error">
          {error}
        </p>
      </section>
    );
  if (!loaded)
    return (
      <section>
        <h1>Compare runs</h1>
        <p aria-busy="true">Loading {ids.length} runs…</p>
      </section>
    );
  return <Comparison loaded={loaded} query={query} />;
}

/** The run names as a text column, to sort by. */
function runNames(runs: Run[]): Column {
  return { id: "run", kind: "param", key: "run", text: runs.map(runName), numbers: null, differs: true };
}

function Comparison({ loaded, query }: { loaded: LoadedRuns; query: URLSearchParams }) {
  const { runs, missing } = loaded;
  const colors = useMemo(() => runs.map((_, i) => runColor(i)), [runs]);
  const { params, metrics } = useMemo(() => buildColumns(runs), [runs]);
  const byId = useMemo(() => new Map([...params, ...metrics].map((c) => [c.id, c])), [params, metrics]);
  const metricKeys = useMemo(() => sharedMetricKeys(runs), [runs]);

  // With one run every column is "equal": hiding them would hide everything.
  const hideEqual = query.get("equal") !== "show" && runs.length > 1;
  const shownParams = useMemo(() => (hideEqual ? params.filter((c) => c.differs) : params), [hideEqual, params]);
  const shownMetrics = useMemo(() => (hideEqual ? metrics.filter((c) => c.differs) : metrics), [hideEqual, metrics]);
  const hiddenCount = params.length + metrics.length - shownParams.length - shownMetrics.length;
  // Rows sorted by a column ("sort=metric:loss", "-" first for descending); by the URL's run order otherwise.
  const sortParam = query.get("sort") ?? "";
  const sort: Sort | null = sortParam ? { id: sortParam.replace(/^-/, ""), descending: sortParam.startsWith("-") } : null;
  const order = useMemo(() => {
    const column = sort?.id === "run" ? runNames(runs) : sort ? byId.get(sort.id) : undefined;
    return column ? sortedOrder(column, sort!.descending) : runs.map((_, i) => i);
  }, [runs, byId, sortParam]);
  const onSort = (id: string) =>
    setQuery({ sort: sort?.id !== id ? id : sort.descending ? undefined : `-${id}` });
  // 100+ runs by many columns: the table is only built again when its rows, columns or order change.
  const table = useMemo(
    () => <DiffTable runs={runs} colors={colors} params={shownParams} metrics={shownMetrics} order={order} sort={sort} onSort={onSort} />,
    [runs, colors, shownParams, shownMetrics, order],
  );

  const chartKeys = (listParam(query.get("metrics")) ?? metricKeys.slice(0, DEFAULT_CHARTS)).filter((k) => metricKeys.includes(k));
  const xMode: XMode = query.get("xaxis") === "relative" ? "relative" : "step";

  const differing = [...params, ...metrics].filter((c) => c.differs);
  const fallback = (preferred: (Column | undefined)[]): Column | undefined => preferred.find((c) => c !== undefined);
  const x = byId.get(query.get("x") ?? "") ?? fallback([params.find((c) => c.differs && c.numbers), params.find((c) => c.differs), params[0], metrics[1], metrics[0]]);
  const y = byId.get(query.get("y") ?? "") ?? fallback([metricKeys[0] ? byId.get(`metric:${metricKeys[0]}`) : undefined, metrics[0], params[1], params[0]]);
  const dimsParam = query.get("dims");
  // Memoised on the URL's value, so the parallel chart redraws only when its dimensions change.
  const dims = useMemo(
    () =>
      (listParam(dimsParam) ?? (differing.length ? differing : [...params, ...metrics]).slice(0, DEFAULT_DIMENSIONS).map((c) => c.id))
        .map((id) => byId.get(id))
        .filter((c): c is Column => c !== undefined),
    [dimsParam, byId],
  );

  const toggleChart = (key: string) => {
    const next = metricKeys.filter((k) => (k === key ? !chartKeys.includes(k) : chartKeys.includes(k)));
    setQuery({ metrics: writeList(next) });
  };

  return (
    <section aria-labelledby="compare-title" class="compare">
      <h1 id="compare-title">
        Compare {runs.length} run{runs.length === 1 ? "" : "s"}
      </h1>
      {missing.length > 0 && (
        <p role="alert" class="error">
          Not found: {missing.join(", ")}
        </p>
      )}

      <h2>Params and metrics</h2>
      <div class="toolbar">
        <label>
          <input type="checkbox" checked={query.get("equal") !== "show"} onChange={(e) => setQuery({ equal: e.currentTarget.checked ? undefined : "show" })} /> Hide columns where all runs are equal
        </label>
        {hideEqual && hiddenCount > 0 && (
          <span class="hint">
            {hiddenCount} equal column{hiddenCount === 1 ? "" : "s"} hidden
          </span>
        )}
        <span class="hint">Columns marked ≠ differ between runs.</span>
      </div>
      {table}

      <h2>Metric charts</h2>
      <div class="toolbar">
        <details class="picker">
          <summary>
            Metrics ({chartKeys.length} of {metricKeys.length})
          </summary>
          <fieldset>
            <legend class="visually-hidden">Metrics to chart</legend>
            {metricKeys.map((key) => (
              <label key={key}>
                <input type="checkbox" checked={chartKeys.includes(key)} onChange={() => toggleChart(key)} /> {key}
              </label>
            ))}
          </fieldset>
        </details>
        <label>
          X axis{" "}
          <select value={xMode} onChange={(e) => setQuery({ xaxis: e.currentTarget.value === "step" ? undefined : e.currentTarget.value })}>
            <option value="step">Step</option>
            <option value="relative">Time since run start</option>
          </select>
        </label>
        <span class="hint">Ctrl + wheel zooms a chart; the buttons below a chart show or hide a run.</span>
      </div>
      {chartKeys.length === 0 ? (
        <p class="hint">{metricKeys.length ? "Choose metrics to chart." : "These runs logged no metrics."}</p>
      ) : (
        <div class="compare-charts">
          {chartKeys.map((key) => (
            <MetricChart key={key} metricKey={key} runs={runs} colors={colors} xMode={xMode} />
          ))}
        </div>
      )}

      <div class="compare-plots">
        {x && y ? (
          <ScatterPlot runs={runs} colors={colors} params={params} metrics={metrics} x={x} y={y} onChange={(axis, id) => setQuery({ [axis]: id })} />
        ) : (
          <p class="hint">No params or metrics to plot.</p>
        )}
        <ParallelPlot runs={runs} colors={colors} params={params} metrics={metrics} dims={dims} onChange={(next) => setQuery({ dims: writeList(next) })} />
      </div>
    </section>
  );
}
