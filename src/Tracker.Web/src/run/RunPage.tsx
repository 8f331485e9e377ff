// A run: its info, params, tags (MLflow's system tags behind a toggle), latest metrics, a chart per metric over step,
// wall time or relative time, and its artifacts. View state (x axis, system tags, selected artifact) is in the URL.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { describe, get } from "../shared/api";
import { formatDuration, formatNumber, formatTime } from "../shared/format";
import { Link, setQuery, useLocation } from "../shared/router";
import type { Experiment, KeyValue, Run } from "../shared/types";
import { Artifacts } from "./Artifacts";
import { MetricChart, prefetchHistory, type XAxis } from "./MetricChart";

/** Charts whose histories are fetched with the run, before they mount. */
const PREFETCHED_CHARTS = 4;

const metricKeys = (run: Run) => (run.data.metrics ?? []).map((m) => m.key).sort((a, b) => a.localeCompare(b));

const AXES: { value: XAxis; label: string }[] = [
  { value: "step", label: "Step" },
  { value: "time", label: "Wall time" },
  { value: "relative", label: "Relative time" },
];

export function RunPage({ experimentId, runId }: { experimentId: string; runId: string }) {
  const { query } = useLocation();
  const axisParam = query.get("x");
  const axis: XAxis = axisParam === "time" || axisParam === "relative" ? axisParam : "step";
  const systemTags = query.get("system") === "1";
  const artifact = query.get("artifact");
  const [run, setRun] = useState<Run | null>(null);
  const [experiment, setExperiment] = useState<Experiment | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    // The chart library loads while the run does, not after its metrics' histories.
    void import("../charts/echarts");
    get<{ run: Run }>("runs/get", { run_id: runId }).then(
      (r) => {
        // The first charts' histories are asked for now, while the page renders, not once their charts have mounted.
        for (const key of metricKeys(r.run).slice(0, PREFETCHED_CHARTS)) prefetchHistory(runId, key);
        setRun(r.run);
      },
      (e) => setError(describe(e)),
    );
    get<{ experiment: Experiment }>("experiments/get", { experiment_id: experimentId }).then(
      (r) => setExperiment(r.experiment),
      () => setExperiment(null), // the run's own answer says what is wrong; the name is only a nicety
    );
  }, [runId, experimentId]);

  if (error)
    return (
      <section>
        <h1>Run {runId}</h1>
        <p role="alert" class="error">
          {error}
        </p>
        <Link href={`/experiments/${encodeURIComponent(experimentId)}`}>Back to the experiment</Link>
      </section>
    );
  if (!run) return <p aria-busy="true">Loading…</p>;

  const { info } = run;
  const tags = run.data.tags ?? [];
  const tag = (key: string) => tags.find((t) => t.key === key)?.value;
  const name = info.run_name || tag("mlflow.runName") || info.run_id;
  const parent = tag("mlflow.parentRunId");
  const params = sortByKey(run.data.params ?? []);
  const metrics = [...(run.data.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const shownTags = sortByKey(systemTags ? tags : tags.filter((t) => !t.key.startsWith("mlflow.")));
  const hiddenTags = tags.length - shownTags.length;
  const experimentHref = `/experiments/${encodeURIComponent(info.experiment_id)}`;

  return (
    <article class="run" aria-labelledby="run-title">
      <nav aria-label="Breadcrumb" class="breadcrumb">
        <Link href="/">Experiments</Link> › <Link href={experimentHref}>{experiment?.name ?? `Experiment ${info.experiment_id}`}</Link> ›
      </nav>
      <h1 id="run-title">{name}</h1>

      <dl class="run-info" data-testid="run-info">
        <Field label="Run ID">
          <code>{info.run_id}</code>
        </Field>
        <Field label="Status">
          <span class={`status status-${info.status.toLowerCase()}`}>{info.status}</span>
        </Field>
        <Field label="User">{info.user_id}</Field>
        <Field label="Started">{formatTime(info.start_time)}</Field>
        <Field label="Ended">{formatTime(info.end_time)}</Field>
        <Field label="Duration">{formatDuration(info.start_time, info.end_time)}</Field>
        <Field label="Lifecycle">{info.lifecycle_stage}</Field>
        <Field label="Experiment">
          <Link href={experimentHref}>{experiment?.name ?? info.experiment_id}</Link>
        </Field>
        {parent && (
          <Field label="Parent run">
            <Link href={`${experimentHref}/runs/${encodeURIComponent(parent)}`}>{parent}</Link>
          </Field>
        )}
        <Field label="Artifact URI">
          <code>{info.artifact_uri}</code>
        </Field>
      </dl>

      <div class="run-tables">
        <section aria-labelledby="params-title">
          <h2 id="params-title">Parameters ({params.length})</h2>
          <KeyValueTable rows={params} testId="params" empty="No parameters." />
        </section>
        <section aria-labelledby="metrics-title">
          <h2 id="metrics-title">Metrics ({metrics.length})</h2>
          {metrics.length === 0 ? (
            <p class="hint">No metrics.</p>
          ) : (
            <table class="grid" data-testid="metrics">
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  <th scope="col">Latest value</th>
                  <th scope="col">Step</th>
                  <th scope="col">Logged</th>
                </tr>
              </thead>
              <tbody>
                {metrics.map((m) => (
                  <tr key={m.key}>
                    <th scope="row">{m.key}</th>
                    <td>{formatNumber(Number(m.value))}</td>
                    <td>{m.step}</td>
                    <td>{formatTime(m.timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section aria-labelledby="tags-title">
          <h2 id="tags-title">Tags ({shownTags.length})</h2>
          <label class="toggle">
            <input type="checkbox" checked={systemTags} onChange={(e) => setQuery({ system: e.currentTarget.checked ? "1" : undefined })} /> Show system tags
            {!systemTags && hiddenTags > 0 && <span class="hint"> ({hiddenTags} hidden)</span>}
          </label>
          <KeyValueTable rows={shownTags} testId="tags" empty="No tags." />
        </section>
      </div>

      {metrics.length > 0 && (
        <section aria-labelledby="charts-title">
          <div class="toolbar">
            <h2 id="charts-title">Charts</h2>
            <label>
              X axis{" "}
              <select value={axis} onChange={(e) => setQuery({ x: e.currentTarget.value === "step" ? undefined : e.currentTarget.value })}>
                {AXES.map((a) => (
                  <option key={a.value} value={a.value}>
                    {a.label}
                  </option>
                ))}
              </select>
            </label>
            <span class="hint">Drag or scroll on a chart to zoom; zoomed ranges load every logged point.</span>
          </div>
          <div class="metric-charts">
            {metrics.map((m) => (
              <MetricChart key={m.key} runId={info.run_id} metricKey={m.key} axis={axis} />
            ))}
          </div>
        </section>
      )}

      <Artifacts runId={info.run_id} artifactUri={info.artifact_uri} selected={artifact} />
    </article>
  );
}

function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function KeyValueTable({ rows, testId, empty }: { rows: KeyValue[]; testId: string; empty: string }) {
  if (rows.length === 0) return <p class="hint">{empty}</p>;
  return (
    <table class="grid kv" data-testid={testId}>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <th scope="row">{r.key}</th>
            <td class="value">{r.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function sortByKey(rows: KeyValue[]): KeyValue[] {
  return [...rows].sort((a, b) => a.key.localeCompare(b.key));
}
