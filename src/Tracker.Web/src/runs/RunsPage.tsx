// An experiment's runs: MLflow's filter syntax in a search box, server-side sorting by any column, chosen
// param/metric/tag columns, selection for comparing, nested runs under their parent, deleted runs on request. Every
// part of the view lives in the URL (filter, sort, dir, cols, sel, deleted), so a shared URL reopens the same view.
import { useEffect, useMemo, useState } from "preact/hooks";
import { describe, get } from "../shared/api";
import { Link, navigate, setQuery, useLocation } from "../shared/router";
import type { Experiment } from "../shared/types";
import { ColumnChooser } from "./ColumnChooser";
import { columnName, defaultColumns, defaultSort, keysOf, nest, orderBy, parseColumn, type ColumnId } from "./columns";
import { RunsGrid } from "./RunsGrid";
import { useRunPages } from "./useRunPages";

/** cols= holding this means "no extra columns" (an empty value would fall back to the default ones). */
const NO_COLUMNS = "-";

const count = (n: number) => n.toLocaleString("en-US");

export function RunsPage({ experimentId }: { experimentId: string }) {
  const { query } = useLocation();
  const filter = query.get("filter") ?? "";
  const sort = parseColumn(query.get("sort") ?? "") ?? defaultSort;
  const descending = query.has("sort") ? query.get("dir") === "desc" : true;
  const showDeleted = query.get("deleted") === "1";
  const colsParam = query.get("cols");
  const selParam = query.get("sel") ?? "";

  const [experiment, setExperiment] = useState<Experiment | null>(null);
  const [experimentError, setExperimentError] = useState<string | null>(null);
  const [draft, setDraft] = useState(filter);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());

  useEffect(() => setDraft(filter), [filter]);
  useEffect(() => {
    get<{ experiment: Experiment }>("experiments/get", { experiment_id: experimentId }).then(
      (r) => setExperiment(r.experiment),
      (e) => setExperimentError(describe(e)),
    );
  }, [experimentId]);

  const { rows, ready, complete, error } = useRunPages(experimentId, filter, orderBy(sort, descending), showDeleted);
  const keys = useMemo(() => keysOf(rows), [rows]);
  const columns = useMemo<ColumnId[]>(() => {
    if (colsParam === null) return defaultColumns(keys);
    if (colsParam === NO_COLUMNS) return [];
    return colsParam
      .split(",")
      .map(parseColumn)
      .filter((c): c is ColumnId => c !== null && c.kind !== "attributes");
  }, [colsParam, keys]);
  const lines = useMemo(() => nest(rows, collapsed), [rows, collapsed]);
  const selected = useMemo(() => new Set(selParam.split(",").filter(Boolean)), [selParam]);

  const setSelected = (ids: Iterable<string>) => setQuery({ sel: [...ids].join(",") });
  const setColumns = (next: ColumnId[]) => setQuery({ cols: next.length ? next.map(columnName).join(",") : NO_COLUMNS });

  return (
    <section aria-labelledby="runs-title" class="runs">
      <p class="crumbs">
        <Link href="/">Experiments</Link> /
      </p>
      <h1 id="runs-title">{experiment?.name ?? (experimentError ? `Experiment ${experimentId}` : "…")}</h1>
      {experimentError && (
        <p role="alert" class="error">
          {experimentError}
        </p>
      )}
      <div class="toolbar">
        <form
          class="inline filter"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ filter: draft.trim() }, { push: true });
          }}
        >
          <input
            type="search"
            aria-label="Filter runs"
            placeholder="params.max_depth = '5' and metrics.rmse < 1"
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
          <button type="submit">Search</button>
        </form>
        <label class="check">
          <input type="checkbox" checked={showDeleted} onChange={(e) => setQuery({ deleted: e.currentTarget.checked ? "1" : undefined })} />
          Show deleted runs
        </label>
        <ColumnChooser keys={keys} columns={columns} onChange={setColumns} />
        <button
          type="button"
          disabled={selected.size === 0}
          onClick={() => navigate(`/compare?runs=${[...selected].map(encodeURIComponent).join(",")}`)}
        >
          Compare ({selected.size})
        </button>
        <span class="hint" role="status" data-testid="runs-status">
          {!ready ? "Loading runs…" : complete ? `${count(rows.length)} runs, all loaded` : `${count(rows.length)} runs loaded, loading more…`}
        </span>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <RunsGrid
        experimentId={experimentId}
        label={`Runs of ${experiment?.name ?? `experiment ${experimentId}`}`}
        lines={lines}
        loadedCount={rows.length}
        columns={columns}
        sort={sort}
        descending={descending}
        onSort={(column) => {
          const same = column.kind === sort.kind && column.key === sort.key;
          setQuery({ sort: columnName(column), dir: same && !descending ? "desc" : "asc" });
        }}
        selected={selected}
        onSelect={(ids, on) => {
          const next = new Set(selected);
          for (const id of ids) if (on) next.add(id);
          else next.delete(id);
          setSelected(next);
        }}
        onSelectAll={(on) => setSelected(on ? rows.map((r) => r.id) : [])}
        collapsed={collapsed}
        onCollapse={(id, on) =>
          setCollapsed((old) => {
            const next = new Set(old);
            if (on) next.add(id);
            else next.delete(id);
            return next;
          })
        }
        ready={ready}
      />
      {ready && rows.length === 0 && !error && <p>No runs{filter ? " match this filter" : " in this experiment yet"}.</p>}
    </section>
  );
}
