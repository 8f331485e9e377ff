// A model's promotions (Tracker's own API, /api/2.0/tracker/promotions/…): the history, newest first, with each gate
// and its figures, and the form to request one. A promotion is decided by a queue consumer, so while any is pending
// the history is read again every 2 s; when one is decided the model's versions are reloaded (its stage or alias moved).
import { useEffect, useRef, useState } from "preact/hooks";
import { describe, get, post } from "../shared/api";
import { formatNumber, formatTime } from "../shared/format";
import type { ModelVersion } from "../shared/types";

const ROOT = "/api/2.0/tracker/promotions/";
const POLL_MS = 2000;

export interface Promotion {
  id: string;
  name: string;
  version: string;
  target: { stage?: string; alias?: string };
  archive_existing: boolean;
  gate?: { metric: string; direction: string; max_regression: number; min_improvement?: number; baseline?: string };
  status: "pending" | "succeeded" | "rejected" | "failed";
  requester: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  gate_result?: { candidate_value?: number; baseline_value?: number; baseline_version?: string; allowed_bound?: number };
  reason?: string;
}

const targetText = (t: Promotion["target"]) => (t.stage ? `stage ${t.stage}` : `alias @${t.alias}`);

export function Promotions({ name, versions, onDecided }: { name: string; versions: ModelVersion[]; onDecided: () => void }) {
  const [promotions, setPromotions] = useState<Promotion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const pendingBefore = useRef(0);

  useEffect(() => {
    const abort = new AbortController();
    get<{ promotions?: Promotion[] }>(ROOT + "search", { name, max_results: 100 }, abort.signal).then(
      (page) => {
        const list = page.promotions ?? [];
        setPromotions(list);
        setError(null);
        const pending = list.filter((p) => p.status === "pending").length;
        if (pending < pendingBefore.current) onDecided();
        pendingBefore.current = pending;
      },
      (e) => {
        if (!abort.signal.aborted) setError(describe(e));
      },
    );
    return () => abort.abort();
  }, [name, reload]);

  const anyPending = promotions?.some((p) => p.status === "pending") ?? false;
  useEffect(() => {
    if (!anyPending) return;
    const timer = setTimeout(() => setReload((r) => r + 1), POLL_MS);
    return () => clearTimeout(timer);
  }, [anyPending, promotions]);

  return (
    <>
      <h2 id="promotions-title">Promotions</h2>
      <PromotionForm name={name} versions={versions} onRequested={() => setReload((r) => r + 1)} />
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {promotions === null ? (
        !error && <p aria-busy="true">Loading…</p>
      ) : promotions.length === 0 ? (
        <p>No promotions requested yet.</p>
      ) : (
        <table class="grid" data-testid="promotions" aria-labelledby="promotions-title">
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">Version → target</th>
              <th scope="col">Gate</th>
              <th scope="col">Candidate</th>
              <th scope="col">Baseline</th>
              <th scope="col">Bound</th>
              <th scope="col">Status</th>
              <th scope="col">Reason</th>
              <th scope="col">Decided</th>
            </tr>
          </thead>
          <tbody>
            {promotions.map((p) => (
              <tr key={p.id} data-promotion={p.id} data-status={p.status}>
                <td>
                  {formatTime(p.creation_timestamp)}
                  <br />
                  <span class="hint">{p.requester}</span>
                </td>
                <td>
                  v{p.version} → {targetText(p.target)}
                  {p.target.stage && p.archive_existing && <span class="hint"> (archive others)</span>}
                </td>
                <td>{p.gate ? gateText(p.gate) : "none"}</td>
                <td>{formatNumber(p.gate_result?.candidate_value)}</td>
                <td>
                  {formatNumber(p.gate_result?.baseline_value)}
                  {p.gate_result?.baseline_version && <span class="hint"> (v{p.gate_result.baseline_version})</span>}
                </td>
                <td>{formatNumber(p.gate_result?.allowed_bound)}</td>
                <td>
                  <span class={`status status-${p.status}`}>{p.status}</span>
                </td>
                <td>{p.reason ?? ""}</td>
                <td>{p.status === "pending" ? "" : formatTime(p.last_updated_timestamp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function gateText(g: NonNullable<Promotion["gate"]>): string {
  const parts = [`${g.metric}, ${g.direction === "lower_is_better" ? "lower is better" : "higher is better"}`, `max regression ${formatNumber(g.max_regression)}`];
  if (g.min_improvement !== undefined) parts.push(`min improvement ${formatNumber(g.min_improvement)}`);
  if (g.baseline !== undefined) parts.push(`baseline v${g.baseline}`);
  return parts.join("; ");
}

/** A number field's value: undefined when empty, NaN (sent as such, refused by the API) when not a number. */
const numberOrUndefined = (text: string) => (text.trim() === "" ? undefined : Number(text));

function PromotionForm({ name, versions, onRequested }: { name: string; versions: ModelVersion[]; onRequested: () => void }) {
  const [version, setVersion] = useState("");
  const [kind, setKind] = useState<"stage" | "alias">("stage");
  const [stage, setStage] = useState("Production");
  const [alias, setAlias] = useState("");
  const [archive, setArchive] = useState(true);
  const [useGate, setUseGate] = useState(true);
  const [metric, setMetric] = useState("");
  const [direction, setDirection] = useState("lower_is_better");
  const [maxRegression, setMaxRegression] = useState("0");
  const [minImprovement, setMinImprovement] = useState("");
  const [baseline, setBaseline] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const chosen = version || versions[0]?.version || "";

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    try {
      await post(ROOT + "create", {
        name,
        version: chosen,
        target: kind === "stage" ? { stage } : { alias: alias.trim() },
        ...(kind === "stage" ? { archive_existing: archive } : {}),
        ...(useGate
          ? {
              gate: {
                metric: metric.trim(),
                direction,
                max_regression: numberOrUndefined(maxRegression),
                min_improvement: numberOrUndefined(minImprovement),
                baseline: baseline.trim() || undefined,
              },
            }
          : {}),
      });
      setError(null);
      onRequested();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="promote" aria-label="Request a promotion" onSubmit={submit}>
      <fieldset>
        <legend>Request a promotion</legend>
        <div class="field">
          <label for="promote-version">Version</label>
          <select id="promote-version" value={chosen} onChange={(e) => setVersion(e.currentTarget.value)}>
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
                {v.current_stage && v.current_stage !== "None" ? ` (${v.current_stage})` : ""}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="promote-target">Target</label>
          <select id="promote-target" value={kind} onChange={(e) => setKind(e.currentTarget.value as "stage" | "alias")}>
            <option value="stage">Stage</option>
            <option value="alias">Alias</option>
          </select>
        </div>
        {kind === "stage" ? (
          <>
            <div class="field">
              <label for="promote-stage">Stage</label>
              <select id="promote-stage" value={stage} onChange={(e) => setStage(e.currentTarget.value)}>
                <option value="Staging">Staging</option>
                <option value="Production">Production</option>
              </select>
            </div>
            <label class="check">
              <input type="checkbox" checked={archive} onChange={(e) => setArchive(e.currentTarget.checked)} />
              Archive the versions now in that stage
            </label>
          </>
        ) : (
          <div class="field">
            <label for="promote-alias">Alias</label>
            <input id="promote-alias" value={alias} onInput={(e) => setAlias(e.currentTarget.value)} placeholder="champion" />
          </div>
        )}
      </fieldset>
      <fieldset>
        <legend>
          <label class="check">
            <input type="checkbox" checked={useGate} onChange={(e) => setUseGate(e.currentTarget.checked)} />
            Regression gate
          </label>
        </legend>
        {useGate && (
          <>
            <div class="field">
              <label for="promote-metric">Metric</label>
              <input id="promote-metric" value={metric} onInput={(e) => setMetric(e.currentTarget.value)} placeholder="val_loss" />
            </div>
            <div class="field">
              <label for="promote-direction">Direction</label>
              <select id="promote-direction" value={direction} onChange={(e) => setDirection(e.currentTarget.value)}>
                <option value="lower_is_better">Lower is better</option>
                <option value="higher_is_better">Higher is better</option>
              </select>
            </div>
            <div class="field">
              <label for="promote-max-regression-relative">Max regression (relative)</label>
              <input id="promote-max-regression-relative" inputMode="decimal" value={maxRegression} onInput={(e) => setMaxRegression(e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="promote-min-improvement-relative-optional">Min improvement (relative, optional)</label>
              <input id="promote-min-improvement-relative-optional" inputMode="decimal" value={minImprovement} onInput={(e) => setMinImprovement(e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="promote-baseline-version-optional">Baseline version (optional)</label>
              <input id="promote-baseline-version-optional" inputMode="numeric" value={baseline} onInput={(e) => setBaseline(e.currentTarget.value)} placeholder="the target's holder" />
            </div>
          </>
        )}
      </fieldset>
      <button type="submit" disabled={busy || !chosen}>
        Request promotion
      </button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </form>
  );
}
