// The comparison's model: one column per param and per latest metric across the runs, with each run's value as text
// and (when every value is a number) as a number, whether the runs differ on it, and one colour per run.
import { formatNumber } from "../shared/format";
import type { Run } from "../shared/types";

export type ColumnKind = "param" | "metric";

export interface Column {
  /** "param:lr" or "metric:loss": how the URL names a column (MLflow keys never hold a colon). */
  id: string;
  kind: ColumnKind;
  key: string;
  /** Per run (in run order): the value as shown, or undefined when the run has none. */
  text: (string | undefined)[];
  /** Per run: the value as a number, when every value the runs have is one (else null: a category axis). */
  numbers: (number | undefined)[] | null;
  differs: boolean;
}

export function columnId(kind: ColumnKind, key: string): string {
  return `${kind}:${key}`;
}

/** A param's value as a number, or undefined ("0.1" and "1e-3" are numbers, "adam" and "" are not). */
function asNumber(value: string): number | undefined {
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : undefined;
}

function metricNumber(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

export function buildColumns(runs: Run[]): { params: Column[]; metrics: Column[] } {
  const paramKeys = new Set<string>();
  const metricKeys = new Set<string>();
  for (const run of runs) {
    for (const p of run.data.params ?? []) paramKeys.add(p.key);
    for (const m of run.data.metrics ?? []) metricKeys.add(m.key);
  }
  const paramMaps = runs.map((run) => new Map((run.data.params ?? []).map((p) => [p.key, p.value])));
  const metricMaps = runs.map((run) => new Map((run.data.metrics ?? []).map((m) => [m.key, metricNumber(m.value)])));

  const params = [...paramKeys].sort().map((key): Column => {
    const text = paramMaps.map((m) => m.get(key));
    const present = text.filter((t): t is string => t !== undefined);
    const numeric = present.length > 0 && present.every((t) => asNumber(t) !== undefined);
    return {
      id: columnId("param", key),
      kind: "param",
      key,
      text,
      numbers: numeric ? text.map((t) => (t === undefined ? undefined : asNumber(t))) : null,
      differs: new Set(text).size > 1,
    };
  });
  const metrics = [...metricKeys].sort().map((key): Column => {
    const numbers = metricMaps.map((m) => m.get(key));
    const text = numbers.map((n) => (n === undefined ? undefined : Number.isNaN(n) ? "NaN" : formatNumber(n)));
    // Differ on the numbers themselves: two values can look the same at six significant digits.
    return { id: columnId("metric", key), kind: "metric", key, text, numbers, differs: new Set(numbers).size > 1 };
  });
  return { params, metrics };
}

/** Metric keys every run has, else the keys most runs have; sorted by name within equal counts. */
export function sharedMetricKeys(runs: Run[]): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) for (const m of run.data.metrics ?? []) counts.set(m.key, (counts.get(m.key) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([key]) => key);
}

// Tableau's ten categorical colours first; past those, hues a golden angle apart stay distinguishable for 100+ runs.
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

export function runColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index];
  const hue = Math.round((index * 137.508) % 360);
  const lightness = 38 + ((index * 7) % 3) * 8;
  return `hsl(${hue}, 62%, ${lightness}%)`;
}

export function runName(run: Run): string {
  return run.info.run_name || run.info.run_id;
}

/** Rich-text tooltip markup reads braces and bars as styles: in names and values they show as parentheses and a slash. */
export function richTextSafe(text: string | undefined): string {
  return (text ?? "").replace(/[{]/g, "(").replace(/[}]/g, ")").replace(/[|]/g, "/");
}

/** Run indexes ordered by a column (numbers numerically, text naturally), runs without a value last; stable. */
export function sortedOrder(column: Column, descending: boolean): number[] {
  const indexes = column.text.map((_, i) => i);
  const collator = new Intl.Collator(undefined, { numeric: true });
  const compare = column.numbers
    ? (a: number, b: number) => column.numbers![a]! - column.numbers![b]!
    : (a: number, b: number) => collator.compare(column.text[a]!, column.text[b]!);
  return indexes.sort((a, b) => {
    const missingA = column.text[a] === undefined;
    const missingB = column.text[b] === undefined;
    if (missingA || missingB) return Number(missingA) - Number(missingB);
    const order = compare(a, b) || 0;
    return descending ? -order : order;
  });
}
