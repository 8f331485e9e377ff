// A scatter plot of one param or metric against another (a point per run) and parallel coordinates over chosen
// dimensions (a line per run). Params whose values are all numbers are numeric axes; any other is a category axis.
import { useMemo } from "preact/hooks";
import { Chart, type ChartOption } from "../charts/Chart";
import type { Run } from "../shared/types";
import { richTextSafe, runName, type Column } from "./columns";

/** An ECharts axis for a column: numbers on a value axis, anything else as sorted categories. */
function axisFor(column: Column) {
  if (column.numbers) return { type: "value" as const, scale: true, name: column.key };
  const categories = [...new Set(column.text.filter((t): t is string => t !== undefined))].sort();
  return { type: "category" as const, data: categories, name: column.key };
}

/** A scatter axis: as axisFor, with room around the numbers so no point sits on the frame. */
function paddedAxisFor(column: Column) {
  const axis = axisFor(column);
  return axis.type === "value" ? { ...axis, boundaryGap: ["5%", "5%"] } : axis;
}

/** A run's value on a column's axis, or undefined when it has none. */
function valueOn(column: Column, i: number): number | string | undefined {
  return column.numbers ? column.numbers[i] : column.text[i];
}

function ColumnSelect(props: { label: string; value: string; params: Column[]; metrics: Column[]; onChange: (id: string) => void }) {
  return (
    <label>
      {props.label}{" "}
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {[
          ["Params", props.params],
          ["Metrics", props.metrics],
        ].map(([group, columns]) =>
          (columns as Column[]).length === 0 ? null : (
            <optgroup label={group as string} key={group as string}>
              {(columns as Column[]).map((c) => (
                <option value={c.id} key={c.id}>
                  {c.key}
                </option>
              ))}
            </optgroup>
          ),
        )}
      </select>
    </label>
  );
}

interface ScatterProps {
  runs: Run[];
  colors: string[];
  params: Column[];
  metrics: Column[];
  x: Column;
  y: Column;
  onChange: (axis: "x" | "y", id: string) => void;
}

export function ScatterPlot({ runs, colors, params, metrics, x, y, onChange }: ScatterProps) {
  const points = useMemo(
    () =>
      runs.flatMap((run, i) => {
        const xv = valueOn(x, i);
        const yv = valueOn(y, i);
        if (xv === undefined || yv === undefined) return [];
        return [{ value: [xv, yv], name: runName(run), itemStyle: { color: colors[i] }, texts: [x.text[i], y.text[i]] }];
      }),
    [runs, colors, x, y],
  );
  const option = useMemo(
    (): ChartOption => ({
      animation: false,
      grid: { left: 64, right: 24, top: 24, bottom: 48 },
      xAxis: { ...paddedAxisFor(x), nameLocation: "middle", nameGap: 28 },
      yAxis: { ...paddedAxisFor(y), nameLocation: "middle", nameGap: 48 },
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        confine: true,
        formatter: (p: { dataIndex: number; marker: string }) => {
          const point = points[p.dataIndex];
          return point ? `${p.marker}${richTextSafe(point.name)}\n${x.key}: ${richTextSafe(point.texts[0])}\n${y.key}: ${richTextSafe(point.texts[1])}` : "";
        },
      },
      series: [{ type: "scatter", symbolSize: 10, data: points.map(({ value, name, itemStyle }) => ({ value, name, itemStyle })) }],
    }),
    [points, x, y],
  );
  return (
    <section class="compare-plot" aria-labelledby="compare-scatter-title">
      <h2 id="compare-scatter-title">Scatter plot</h2>
      <div class="toolbar">
        <ColumnSelect label="Scatter X" value={x.id} params={params} metrics={metrics} onChange={(id) => onChange("x", id)} />
        <ColumnSelect label="Scatter Y" value={y.id} params={params} metrics={metrics} onChange={(id) => onChange("y", id)} />
      </div>
      <Chart option={option} height={340} label={`${y.key} against ${x.key}, ${points.length} runs`} testId="compare-scatter" />
    </section>
  );
}

interface ParallelProps {
  runs: Run[];
  colors: string[];
  params: Column[];
  metrics: Column[];
  dims: Column[];
  onChange: (ids: string[]) => void;
}

export function ParallelPlot({ runs, colors, params, metrics, dims, onChange }: ParallelProps) {
  const option = useMemo(
    (): ChartOption => ({
      animation: false,
      parallel: { left: 48, right: 96, top: 48, bottom: 28 },
      parallelAxisDefault: { nameLocation: "end", nameGap: 14, nameTextStyle: { width: 110, overflow: "truncate" } },
      parallelAxis: dims.map((c, dim) => ({ dim, ...axisFor(c) })),
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        confine: true,
        formatter: (p: { dataIndex: number; marker: string }) => {
          const run = runs[p.dataIndex];
          if (!run) return "";
          return [`${p.marker}${richTextSafe(runName(run))}`, ...dims.map((c) => `${c.key}: ${richTextSafe(c.text[p.dataIndex] ?? "–")}`)].join("\n");
        },
      },
      series: [
        {
          type: "parallel",
          lineStyle: { width: 1.5, opacity: 0.85 },
          emphasis: { lineStyle: { width: 3, opacity: 1 } },
          data: runs.map((run, i) => ({
            value: dims.map((c) => valueOn(c, i) ?? "-"),
            name: runName(run),
            lineStyle: { color: colors[i] },
          })),
        },
      ],
    }),
    [runs, colors, dims],
  );
  const chosen = new Set(dims.map((d) => d.id));
  const toggle = (id: string) => {
    const next = [...params, ...metrics].filter((c) => (c.id === id ? !chosen.has(id) : chosen.has(c.id))).map((c) => c.id);
    onChange(next);
  };
  return (
    <section class="compare-plot" aria-labelledby="compare-parallel-title">
      <h2 id="compare-parallel-title">Parallel coordinates</h2>
      <details class="picker">
        <summary>
          Dimensions ({dims.length}): {dims.map((d) => d.key).join(", ") || "none"}
        </summary>
        <fieldset>
          <legend class="visually-hidden">Parallel coordinates dimensions</legend>
          {[...params, ...metrics].map((c) => (
            <label key={c.id}>
              <input type="checkbox" checked={chosen.has(c.id)} onChange={() => toggle(c.id)} /> {c.kind === "param" ? "param" : "metric"} {c.key}
            </label>
          ))}
        </fieldset>
      </details>
      {dims.length === 0 ? (
        <p class="hint">Choose dimensions to draw.</p>
      ) : (
        <Chart option={option} height={340} label={`Parallel coordinates of ${dims.map((d) => d.key).join(", ")}, ${runs.length} runs`} testId="compare-parallel" />
      )}
    </section>
  );
}
