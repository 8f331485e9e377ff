// One registered model: description, tags and aliases; its versions with stage, status, aliases, tags and the run each
// came from; its promotion history and the form to request one.
import { useEffect, useState } from "preact/hooks";
import { describe, get } from "../shared/api";
import { formatTime } from "../shared/format";
import { Link } from "../shared/router";
import type { ModelVersion, RegisteredModel, Run } from "../shared/types";
import { nameEquals } from "./filters";
import { Promotions } from "./Promotions";

interface VersionsResponse {
  model_versions?: ModelVersion[];
  next_page_token?: string;
}

/** Every version of the model, newest first (the registry pages them). */
async function loadVersions(name: string, signal: AbortSignal): Promise<ModelVersion[]> {
  const { filter, exact } = nameEquals(name);
  const versions: ModelVersion[] = [];
  let token: string | undefined;
  do {
    const page = await get<VersionsResponse>("model-versions/search", { filter, max_results: 1000, page_token: token }, signal);
    versions.push(...(page.model_versions ?? []).filter((v) => exact || v.name === name));
    token = page.next_page_token || undefined;
  } while (token);
  return versions.sort((a, b) => Number(b.version) - Number(a.version));
}

export function ModelDetail({ name }: { name: string }) {
  const [model, setModel] = useState<RegisteredModel | null>(null);
  const [versions, setVersions] = useState<ModelVersion[] | null>(null);
  const [experimentOf, setExperimentOf] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    Promise.all([get<{ registered_model: RegisteredModel }>("registered-models/get", { name }, abort.signal), loadVersions(name, abort.signal)]).then(
      ([m, v]) => {
        setModel(m.registered_model);
        setVersions(v);
        setError(null);
      },
      (e) => {
        if (!abort.signal.aborted) setError(describe(e));
      },
    );
    return () => abort.abort();
  }, [name, reload]);

  // The run page's URL needs the run's experiment: one runs/get per source run not yet known.
  useEffect(() => {
    const missing = [...new Set((versions ?? []).map((v) => v.run_id).filter((id): id is string => !!id && !(id in experimentOf)))];
    if (missing.length === 0) return;
    const abort = new AbortController();
    Promise.all(
      missing.map((id) =>
        get<{ run: Run }>("runs/get", { run_id: id }, abort.signal).then(
          (r) => [id, r.run.info.experiment_id] as const,
          () => [id, ""] as const, // deleted or not readable: shown without a link
        ),
      ),
    ).then((pairs) => {
      if (!abort.signal.aborted) setExperimentOf((old) => ({ ...old, ...Object.fromEntries(pairs) }));
    });
    return () => abort.abort();
  }, [versions]);

  // Searches leave out a version's aliases (as MLflow's do); the model lists them all.
  const aliasesOf = (v: ModelVersion) => [
    ...new Set([...(v.aliases ?? []), ...(model?.aliases ?? []).filter((a) => a.version === v.version).map((a) => a.alias)]),
  ];

  return (
    <section aria-labelledby="model-title">
      <p class="crumbs">
        <Link href="/models">Models</Link> /
      </p>
      <h1 id="model-title">{name}</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {model && (
        <>
          {model.description && <p class="description">{model.description}</p>}
          <dl class="facts" data-testid="model-facts">
            <dt>Created</dt>
            <dd>{formatTime(model.creation_timestamp)}</dd>
            <dt>Last update</dt>
            <dd>{formatTime(model.last_updated_timestamp)}</dd>
            <dt>Aliases</dt>
            <dd>{(model.aliases ?? []).map((a) => `@${a.alias} → v${a.version}`).join(", ") || "none"}</dd>
            <dt>Tags</dt>
            <dd>{(model.tags ?? []).map((t) => `${t.key}=${t.value}`).join(", ") || "none"}</dd>
          </dl>
        </>
      )}
      <h2>Versions</h2>
      {versions === null ? (
        !error && <p aria-busy="true">Loading…</p>
      ) : versions.length === 0 ? (
        <p>No versions.</p>
      ) : (
        <table class="grid" data-testid="versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Stage</th>
              <th scope="col">Status</th>
              <th scope="col">Aliases</th>
              <th scope="col">Tags</th>
              <th scope="col">Source run</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version} data-version={v.version}>
                <th scope="row">v{v.version}</th>
                <td>{v.current_stage || "None"}</td>
                <td>{v.status ?? ""}</td>
                <td>{aliasesOf(v).map((a) => `@${a}`).join(", ")}</td>
                <td>
                  <ul class="chips">
                    {(v.tags ?? []).map((t) => (
                      <li key={t.key}>
                        {t.key}={t.value}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  {v.run_id && experimentOf[v.run_id] ? (
                    <Link href={`/experiments/${encodeURIComponent(experimentOf[v.run_id])}/runs/${encodeURIComponent(v.run_id)}`}>{v.run_id}</Link>
                  ) : (
                    (v.run_id ?? "")
                  )}
                </td>
                <td>{formatTime(v.creation_timestamp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {model && <Promotions name={name} versions={versions ?? []} onDecided={() => setReload((r) => r + 1)} />}
    </section>
  );
}
