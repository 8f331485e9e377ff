// The params/metrics diff table: a row per run (its colour and a link to it), a column per param and latest metric,
// grouped; columns whose values differ are marked, equal ones hidden unless asked for. Header row and run column stay
// in view while the table scrolls both ways (100+ runs by many columns).
import { Link } from "../shared/router";
import type { Run } from "../shared/types";
import { runName, type Column } from "./columns";

interface Props {
  runs: Run[];
  colors: string[];
  params: Column[];
  metrics: Column[];
}

export function DiffTable({ runs, colors, params, metrics }: Props) {
  const columns = [...params, ...metrics];
  return (
    <div class="compare-table" role="region" aria-label="Params and metrics of the compared runs" tabIndex={0}>
      <table class="grid compare-grid" data-testid="compare-table">
        <thead>
          <tr>
            <th scope="col" rowSpan={2} class="run-col">
              Run
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
              <th scope="col" key={c.id} title={c.key} data-differs={c.differs ? "true" : undefined} class={c.differs ? "differs" : undefined}>
                {c.key}
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
          {runs.map((run, i) => (
            <tr key={run.info.run_id}>
              <th scope="row" class="run-col">
                <span class="swatch" style={{ background: colors[i] }} aria-hidden="true" />
                <Link href={`/experiments/${encodeURIComponent(run.info.experiment_id)}/runs/${encodeURIComponent(run.info.run_id)}`} title={run.info.run_id}>
                  {runName(run)}
                </Link>
              </th>
              {columns.map((c) => (
                <td key={c.id} class={c.differs ? "differs" : undefined} title={c.text[i]}>
                  {c.text[i] ?? ""}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
