// Registered models: search by name, page through, each with its latest version per stage and its aliases.
import { useEffect, useState } from "preact/hooks";
import { describe, get } from "../shared/api";
import { formatTime } from "../shared/format";
import { Link, setQuery, useLocation } from "../shared/router";
import type { RegisteredModel } from "../shared/types";
import { nameContains } from "../shared/filters";
import { modelHref } from "./filters";

const PER_PAGE = 50;

interface SearchResponse {
  registered_models?: RegisteredModel[];
  next_page_token?: string;
}

export function ModelList() {
  const { query } = useLocation();
  const search = query.get("q") ?? "";
  // The tokens of the pages before this one (the first page has none), so "Previous" needs no server support.
  const [tokens, setTokens] = useState<string[]>([]);
  const [page, setPage] = useState<SearchResponse | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => setTokens((t) => (t.length ? [] : t)), [search]);

  useEffect(() => {
    const abort = new AbortController();
    const filter = nameContains(search);
    const token = tokens[tokens.length - 1];
    get<SearchResponse>("registered-models/search", { max_results: PER_PAGE, filter, page_token: token, order_by: "name ASC" }, abort.signal).then(
      (p) => {
        setPage(p);
        setError(null);
      },
      (e) => {
        if (abort.signal.aborted) return;
        setError(describe(e));
        setPage({});
      },
    );
    return () => abort.abort();
  }, [search, tokens]);

  const models = page?.registered_models ?? [];
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Registered models</h1>
      <div class="toolbar">
        <input type="search" aria-label="Search models by name" placeholder="Search by name" value={search} onInput={(e) => setQuery({ q: e.currentTarget.value })} />
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {page === null ? (
        <p aria-busy="true">Loading…</p>
      ) : models.length === 0 ? (
        <p>No registered models{search ? ` match "${search}"` : ""}.</p>
      ) : (
        <table class="grid" data-testid="models">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Latest versions</th>
              <th scope="col">Aliases</th>
              <th scope="col">Last update</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.name}>
                <td>
                  <Link href={modelHref(m.name)}>{m.name}</Link>
                </td>
                <td>
                  <ul class="chips">
                    {(m.latest_versions ?? []).map((v) => (
                      <li key={v.version}>
                        {v.current_stage || "None"}: v{v.version}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <ul class="chips">
                    {(m.aliases ?? []).map((a) => (
                      <li key={a.alias}>
                        @{a.alias}: v{a.version}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>{formatTime(m.last_updated_timestamp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={tokens.length === 0} onClick={() => setTokens((t) => t.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!page?.next_page_token} onClick={() => page?.next_page_token && setTokens((t) => [...t, page.next_page_token!])}>
          Next page
        </button>
      </nav>
    </section>
  );
}
