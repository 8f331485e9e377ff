// Sign-in when the API asks for credentials: paste a Tracker token (kept for this browser session only).
import { useState } from "preact/hooks";
import { usePastedToken, type UiConfig } from "./session";

export function SignIn({ config }: { config: UiConfig }) {
  const [token, setToken] = useState("");
  return (
    <section class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) usePastedToken(token);
        }}
      >
        <label for="token">Tracker token</label>
        <input id="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit">Use token</button>
        <p class="hint">Kept for this browser session only. Create one with <code>POST /api/2.0/tracker/tokens/create</code> or the admin command.</p>
      </form>
      {config.entra && <p class="hint">Entra ID sign-in is configured.</p>}
    </section>
  );
}
