// The runs table's columns and rows. A column is named by its search prefix and key ("params.lr", "metrics.rmse",
// "tags.team", "attributes.start_time"): the same name goes in the URL (cols=, sort=) and, quoted, in order_by.
// MLflow keys hold no commas, so a comma-separated list of column names in the URL is unambiguous.
import type { Run } from "../shared/types";

export type Kind = "params" | "metrics" | "tags" | "attributes";

export interface ColumnId {
  kind: Kind;
  key: string;
}

export function parseColumn(id: string): ColumnId | null {
  const dot = id.indexOf(".");
  if (dot < 1) return null;
  const kind = id.slice(0, dot);
  const key = id.slice(dot + 1);
  if (!key || (kind !== "params" && kind !== "metrics" && kind !== "tags" && kind !== "attributes")) return null;
  return { kind, key };
}

export const columnName = (c: ColumnId) => `${c.kind}.${c.key}`;

/** MLflow's order_by for a column: attributes bare, keys in backticks (a key may hold dots or spaces). */
export function orderBy(sort: ColumnId, descending: boolean): string {
  const field = sort.kind === "attributes" ? `attributes.${sort.key}` : `${sort.kind}.\`${sort.key}\``;
  return `${field} ${descending ? "DESC" : "ASC"}`;
}

export const defaultSort: ColumnId = { kind: "attributes", key: "start_time" };

/** A run flattened once when it arrives, so rendering a row is lookups only. */
export interface Row {
  id: string;
  name: string;
  start?: number;
  end?: number;
  user: string;
  status: string;
  deleted: boolean;
  parentId?: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

export function toRow(run: Run): Row {
  const params: Record<string, string> = {};
  const metrics: Record<string, number> = {};
  const tags: Record<string, string> = {};
  for (const p of run.data.params ?? []) params[p.key] = p.value;
  for (const m of run.data.metrics ?? []) metrics[m.key] = m.value;
  for (const t of run.data.tags ?? []) tags[t.key] = t.value;
  return {
    id: run.info.run_id,
    name: run.info.run_name || tags["mlflow.runName"] || run.info.run_id,
    start: run.info.start_time === undefined ? undefined : Number(run.info.start_time),
    end: run.info.end_time === undefined ? undefined : Number(run.info.end_time),
    user: run.info.user_id ?? tags["mlflow.user"] ?? "",
    status: run.info.status,
    deleted: run.info.lifecycle_stage === "deleted",
    parentId: tags["mlflow.parentRunId"] || undefined,
    params,
    metrics,
    tags,
  };
}

/** The keys seen in the loaded runs, sorted; MLflow's own mlflow.* tags are left out of the chooser. */
export interface Keys {
  params: string[];
  metrics: string[];
  tags: string[];
}

export function keysOf(rows: Row[]): Keys {
  const params = new Set<string>();
  const metrics = new Set<string>();
  const tags = new Set<string>();
  for (const r of rows) {
    for (const k in r.params) params.add(k);
    for (const k in r.metrics) metrics.add(k);
    for (const k in r.tags) if (!k.startsWith("mlflow.")) tags.add(k);
  }
  const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
  return { params: sorted(params), metrics: sorted(metrics), tags: sorted(tags) };
}

/** Without cols= in the URL: the first few params and metrics. */
export function defaultColumns(keys: Keys): ColumnId[] {
  return [
    ...keys.params.slice(0, 3).map((key) => ({ kind: "params" as const, key })),
    ...keys.metrics.slice(0, 3).map((key) => ({ kind: "metrics" as const, key })),
  ];
}

/** One line of the table: a run, how deep it is nested, and whether it has loaded children. */
export interface Line {
  row: Row;
  depth: number;
  childCount: number;
}

/**
 * Runs in the server's order, each parent's loaded children (tag mlflow.parentRunId) right under it, indented. A run
 * whose parent is not loaded (filtered out, or not yet paged in) stands at the top level. Collapsed parents hide their
 * descendants.
 */
export function nest(rows: Row[], collapsed: Set<string>): Line[] {
  const byId = new Map<string, Row>();
  for (const r of rows) byId.set(r.id, r);
  const children = new Map<string, Row[]>();
  const roots: Row[] = [];
  for (const r of rows) {
    if (r.parentId && r.parentId !== r.id && byId.has(r.parentId)) {
      const list = children.get(r.parentId);
      if (list) list.push(r);
      else children.set(r.parentId, [r]);
    } else roots.push(r);
  }
  const lines: Line[] = [];
  const seen = new Set<string>();
  const visit = (row: Row, depth: number) => {
    if (seen.has(row.id)) return; // a cycle of parent tags: show each run once
    seen.add(row.id);
    const kids = children.get(row.id) ?? [];
    lines.push({ row, depth, childCount: kids.length });
    if (!collapsed.has(row.id)) for (const k of kids) visit(k, depth + 1);
    else for (const k of kids) markSeen(k);
  };
  const markSeen = (row: Row) => {
    if (seen.has(row.id)) return;
    seen.add(row.id);
    for (const k of children.get(row.id) ?? []) markSeen(k);
  };
  for (const r of roots) visit(r, 0);
  // Runs only reachable through a cycle (a -> b -> a) have no root: show them at the top level.
  for (const r of rows) if (!seen.has(r.id)) visit(r, 0);
  return lines;
}
