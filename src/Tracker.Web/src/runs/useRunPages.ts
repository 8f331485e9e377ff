// Loads an experiment's runs for the table: a small first page, shown at once, then the rest in pages of 1,000 in the
// background. A new filter, order or view aborts the pages still loading. A search the server refuses (a bad filter)
// keeps the rows already shown and reports the server's message.
import { useLayoutEffect, useState } from "preact/hooks";
import { describe, post } from "../shared/api";
import type { Run } from "../shared/types";
import { toRow, type Row } from "./columns";

export const FIRST_PAGE = 200;
export const NEXT_PAGES = 1000;

interface SearchResponse {
  runs?: Run[];
  next_page_token?: string;
}

export interface RunPages {
  rows: Row[];
  /** The first page of the current search has arrived (or failed): the table is usable. */
  ready: boolean;
  /** Every page of the current search has arrived. */
  complete: boolean;
  error: string | null;
}

export function useRunPages(experimentId: string, filter: string, order: string, showDeleted: boolean): RunPages {
  const [state, setState] = useState<RunPages>({ rows: [], ready: false, complete: false, error: null });

  // A layout effect starts the search as soon as the page is rendered, not a frame later (useEffect waits for the next
  // paint): that frame is part of the time to the first page.
  useLayoutEffect(() => {
    const abort = new AbortController();
    setState((s) => ({ ...s, ready: false, complete: false }));
    const search = (maxResults: number, pageToken?: string) =>
      post<SearchResponse>(
        "runs/search",
        {
          experiment_ids: [experimentId],
          max_results: maxResults,
          order_by: [order],
          run_view_type: showDeleted ? "ALL" : "ACTIVE_ONLY",
          ...(filter ? { filter } : {}),
          ...(pageToken ? { page_token: pageToken } : {}),
        },
        abort.signal,
      );
    (async () => {
      let page: SearchResponse;
      try {
        page = await search(FIRST_PAGE);
      } catch (e) {
        if (!abort.signal.aborted) setState((s) => ({ ...s, ready: true, complete: true, error: describe(e) }));
        return;
      }
      if (abort.signal.aborted) return;
      let token = page.next_page_token || undefined;
      setState({ rows: (page.runs ?? []).map(toRow), ready: true, complete: !token, error: null });
      while (token) {
        try {
          page = await search(NEXT_PAGES, token);
        } catch (e) {
          if (!abort.signal.aborted) setState((s) => ({ ...s, complete: true, error: `Not every run loaded: ${describe(e)}` }));
          return;
        }
        if (abort.signal.aborted) return;
        token = page.next_page_token || undefined;
        const more = (page.runs ?? []).map(toRow);
        const done = !token;
        setState((s) => ({ ...s, rows: s.rows.concat(more), complete: done }));
      }
    })();
    return () => abort.abort();
  }, [experimentId, filter, order, showDeleted]);

  return state;
}
