// Experiments: list and search by name, create, rename, delete and restore (MLflow's experiments/* RPCs).
import { useEffect, useState } from "preact/hooks";
import { describe, post } from "../shared/api";
import { nameContains } from "../shared/filters";
import { formatTime } from "../shared/format";
import { Link, setQuery, useLocation } from "../shared/router";
import type { Experiment } from "../shared/types";

type View = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";

interface SearchResponse {
  experiments?: Experiment[];
  next_page_token?: string;
}

export function ExperimentsPage() {
  const { query } = useLocation();
  const search = query.get("q") ?? "";
  const view = (query.get("view") as View | null) ?? "ACTIVE_ONLY";
  const [experiments, setExperiments] = useState<Experiment[] | null>(null);
  const [nextToken, setNextToken] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [newName, setNewName] = useState("");
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);

  async function load(pageToken?: string) {
    try {
      const filter = nameContains(search);
      const page = await post<SearchResponse>("experiments/search", {
        max_results: 200,
        view_type: view,
        order_by: ["last_update_time DESC"],
        ...(filter ? { filter } : {}),
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      setExperiments((old) => [...(pageToken && old ? old : []), ...(page.experiments ?? [])]);
      setNextToken(page.next_page_token || undefined);
      setError(null);
    } catch (e) {
      setError(describe(e));
      if (!pageToken) setExperiments([]);
    }
  }

  useEffect(() => {
    void load();
  }, [search, view, reload]);

  async function act(action: () => Promise<unknown>) {
    try {
      await action();
      setError(null);
      setReload((r) => r + 1);
    } catch (e) {
      setError(describe(e));
    }
  }

  return (
    <section aria-labelledby="experiments-title">
      <h1 id="experiments-title">Experiments</h1>
      <div class="toolbar">
        <input
          type="search"
          aria-label="Search experiments by name"
          placeholder="Search by name"
          value={search}
          onInput={(e) => setQuery({ q: e.currentTarget.value })}
        />
        <select aria-label="Which experiments" value={view} onChange={(e) => setQuery({ view: e.currentTarget.value === "ACTIVE_ONLY" ? undefined : e.currentTarget.value })}>
          <option value="ACTIVE_ONLY">Active</option>
          <option value="DELETED_ONLY">Deleted</option>
          <option value="ALL">All</option>
        </select>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            if (newName.trim()) void act(() => post("experiments/create", { name: newName.trim() }).then(() => setNewName("")));
          }}
        >
          <input aria-label="New experiment name" placeholder="New experiment name" value={newName} onInput={(e) => setNewName(e.currentTarget.value)} />
          <button type="submit">Create</button>
        </form>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {experiments === null ? (
        <p aria-busy="true">Loading…</p>
      ) : experiments.length === 0 ? (
        <p>No experiments{search ? ` match "${search}"` : ""}.</p>
      ) : (
        <table class="grid" data-testid="experiments">
          <thead>
            <tr>
              <th scope="col">ID</th>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">Last update</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {experiments.map((x) => (
              <tr key={x.experiment_id}>
                <td>{x.experiment_id}</td>
                <td>
                  {renaming?.id === x.experiment_id ? (
                    <form
                      class="inline"
                      onSubmit={(e) => {
                        e.preventDefault();
                        const name = renaming.name.trim();
                        void act(() => post("experiments/update", { experiment_id: x.experiment_id, new_name: name }).then(() => setRenaming(null)));
                      }}
                    >
                      <input aria-label={`New name for ${x.name}`} value={renaming.name} onInput={(e) => setRenaming({ id: x.experiment_id, name: e.currentTarget.value })} />
                      <button type="submit">Save</button>
                      <button type="button" onClick={() => setRenaming(null)}>
                        Cancel
                      </button>
                    </form>
                  ) : (
                    <Link href={`/experiments/${encodeURIComponent(x.experiment_id)}`}>{x.name}</Link>
                  )}
                </td>
                <td>{formatTime(x.creation_time)}</td>
                <td>{formatTime(x.last_update_time)}</td>
                <td>{x.lifecycle_stage}</td>
                <td class="actions">
                  {x.lifecycle_stage === "active" ? (
                    <>
                      <button type="button" onClick={() => setRenaming({ id: x.experiment_id, name: x.name })}>
                        Rename
                      </button>
                      <button type="button" onClick={() => void act(() => post("experiments/delete", { experiment_id: x.experiment_id }))}>
                        Delete
                      </button>
                    </>
                  ) : (
                    <button type="button" onClick={() => void act(() => post("experiments/restore", { experiment_id: x.experiment_id }))}>
                      Restore
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextToken && (
        <button type="button" onClick={() => void load(nextToken)}>
          Load more
        </button>
      )}
    </section>
  );
}
