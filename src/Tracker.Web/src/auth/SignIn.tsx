// Sign-in when the API asks for credentials: paste a Tracker token (kept for this browser session only), or, when the
// server configured it, sign in with Microsoft (Entra ID, authorization code + PKCE by redirect).
import { useState } from "preact/hooks";
import { entraError, signInWithMicrosoft } from "./entra";
import { takeRefusal, usePastedToken, type UiConfig } from "./session";

/** Whether the server takes this token: one cheap signed-in read. */
async function check(token: string): Promise<string | null> {
  const response = await fetch("/api/2.0/mlflow/experiments/search?max_results=1", {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    credentials: "omit",
  });
  if (response.ok) return null;
  if (response.status === 401) return "Tracker refused this token: it is wrong, revoked or expired.";
  let message = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    if (typeof body?.message === "string") message = `${body.message} (${body.error_code ?? response.status})`;
  } catch {
    // not JSON
  }
  return message;
}

export function SignIn({ config }: { config: UiConfig }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(() => entraError() ?? takeRefusal());
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const value = token.trim();
    if (!value) return;
    setBusy(true);
    try {
      const refused = await check(value);
      if (refused) setError(refused);
      else usePastedToken(value);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  async function microsoft() {
    setBusy(true);
    try {
      await signInWithMicrosoft();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  }

  return (
    <section class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      {config.entra && (
        <p>
          <button type="button" class="primary" disabled={busy} onClick={microsoft}>
            Sign in with Microsoft
          </button>
        </p>
      )}
      <form onSubmit={submit}>
        <label for="token">{config.entra ? "Or paste a Tracker token" : "Tracker token"}</label>
        <input id="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          Use token
        </button>
        <p class="hint">
          Kept for this browser session only. Create one with <code>POST /api/2.0/tracker/tokens/create</code> or the admin command.
        </p>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}
