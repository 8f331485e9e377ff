// The params/metrics diff table: a row per run (its colour and a link to it), a column per param and latest metric,
// grouped; columns whose values differ are marked, equal ones hidden unless asked for. Header row and run column stay
// in view while the table scrolls both ways (100+ runs by many columns).
import { Link } from "../shared/router";
import type { Run } from "../shared/types";
import { runName, type Column } from "./columns";

export interface Sort {
  /** A column id, or "run" for the run names. */
  id: string;
  descending: boolean;
}

interface Props {
  runs: Run[];
  colors: string[];
  params: Column[];
  metrics: Column[];
  /** Run indexes in the order shown. */
  order: number[];
  sort: Sort | null;
  onSort: (id: string) => void;
}

/** A header's sort button: one click sorts ascending, the next descending, the third goes back to the URL's order. */
function SortButton({ id, label, sort, onSort }: { id: string; label: string; sort: Sort | null; onSort: (id: string) => void }) {
  const mark = sort?.id !== id ? "" : sort.descending ? " ▼" : " ▲";
  return (
    <button type="button" class="sort" onClick={() => onSort(id)} title={`Sort by ${label}`}>
      {label}
      {mark && <span aria-hidden="true">{mark}</span>}
    </button>
  );
}

function ariaSort(id: string, sort: Sort | null) {
  return sort?.id !== id ? undefined : sort.descending ? "descending" : "ascending";
}

export function DiffTable({ runs, colors, params, metrics, order, sort, onSort }: Props) {
  const columns = [...params, ...metrics];
  return (
    <div class="compare-table" role="region" aria-label="Params and metrics of the compared runs" tabIndex={0}>
      <table class="grid compare-grid" data-testid="compare-table">
        <thead>
          <tr>
            <th scope="col" rowSpan={2} class="run-col" aria-sort={ariaSort("run", sort)}>
              <SortButton id="run" label="Run" sort={sort} onSort={onSort} />
            </th>
            {params.length > 0 && (
              <th scope="colgroup" colSpan={params.length} class="group">
                Params
              </th>
            )}
            {metrics.length > 0 && (
              <th scope="colgroup" colSpan={metrics.length} class="group">
                Metrics (latest)
              </th>
            )}
          </tr>
          <tr>
            {columns.map((c) => (
              <th
                scope="col"
                key={c.id}
                data-differs={c.differs ? "true" : undefined}
                class={c.differs ? "differs" : undefined}
                aria-sort={ariaSort(c.id, sort)}
              >
                <SortButton id={c.id} label={c.key} sort={sort} onSort={onSort} />
                {c.differs && (
                  <>
                    <span class="diff-mark" aria-hidden="true">
                      {" ≠"}
                    </span>
                    <span class="visually-hidden"> (values differ)</span>
                  </>
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {order.map((i) => {
            const run = runs[i];
            return (
              <tr key={run.info.run_id}>
                <th scope="row" class="run-col">
                  <span class="swatch" style={{ background: colors[i] }} aria-hidden="true" />
                  <Link href={`/experiments/${encodeURIComponent(run.info.experiment_id)}/runs/${encodeURIComponent(run.info.run_id)}`} title={run.info.run_id}>
                    {runName(run)}
                  </Link>
                </th>
                {columns.map((c) => (
                  <td key={c.id} class={c.differs ? "differs" : undefined} title={c.kind === "metric" && c.numbers?.[i] !== undefined ? String(c.numbers[i]) : c.text[i]}>
                    {c.text[i] ?? ""}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
