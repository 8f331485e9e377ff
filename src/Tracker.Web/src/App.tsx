// The shell: loads the UI's settings, asks for credentials when the API needs them, and shows the view the URL names.
import { useEffect, useState } from "preact/hooks";
import { entraSignedIn, entraToken, signOutEntra, startEntra } from "./auth/entra";
import { embeddedConfig, installTokenSource, loadConfig, onSessionChange, signedIn as hasSession, signOut, type UiConfig } from "./auth/session";
import { SignIn } from "./auth/SignIn";
import { ComparePage } from "./compare/ComparePage";
import { ExperimentsPage } from "./experiments/ExperimentsPage";
import { ModelsPage } from "./models/ModelsPage";
import { RunPage } from "./run/RunPage";
import { RunsPage } from "./runs/RunsPage";
import { Link, match, useLocation } from "./shared/router";

export function App() {
  const location = useLocation();
  // Settings index.html carries render the first view at once (its requests go out in this first render's effects,
  // so the token source is installed here, before them); with Entra configured, MSAL first completes a sign-in below.
  const [config, setConfig] = useState<UiConfig | null>(() => {
    installTokenSource(null);
    const embedded = embeddedConfig();
    return embedded && !(embedded.auth && embedded.entra) ? embedded : null;
  });
  const [configError, setConfigError] = useState<string | null>(null);
  const [, setSession] = useState(0);

  useEffect(() => {
    if (config) return onSessionChange(() => setSession((s) => s + 1));
    loadConfig()
      .then(async (c) => {
        // With Entra configured, MSAL first completes a sign-in this load may be the redirect back from.
        if (c.auth && c.entra) {
          await startEntra(c.entra);
          installTokenSource({ signedIn: entraSignedIn, token: entraToken, signOut: signOutEntra });
        }
        setConfig(c);
      })
      .catch((e: Error) => setConfigError(e.message));
    return onSessionChange(() => setSession((s) => s + 1));
  }, []);

  if (configError) return <p role="alert" class="error">{configError}</p>;
  if (!config) return <p aria-busy="true">Loading…</p>;
  const signedIn = !config.auth || hasSession();

  return (
    <>
      <header class="top">
        <Link href="/" class="brand">
          Tracker
        </Link>
        <nav aria-label="Main">
          <Link href="/" aria-current={location.path === "/" || location.path.startsWith("/experiments") ? "page" : undefined}>
            Experiments
          </Link>
          <Link href="/models" aria-current={location.path.startsWith("/models") ? "page" : undefined}>
            Models
          </Link>
        </nav>
        {config.auth && signedIn && (
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        )}
      </header>
      <main>{signedIn ? <Route path={location.path} /> : <SignIn config={config} />}</main>
    </>
  );
}

function Route({ path }: { path: string }) {
  let params: Record<string, string> | null;
  if (path === "/") return <ExperimentsPage />;
  if ((params = match("/experiments/:id", path))) return <RunsPage key={params.id} experimentId={params.id} />;
  if ((params = match("/experiments/:id/runs/:runId", path))) return <RunPage key={params.runId} experimentId={params.id} runId={params.runId} />;
  if (match("/compare", path)) return <ComparePage />;
  if (match("/models", path)) return <ModelsPage />;
  if ((params = match("/models/:name", path))) return <ModelsPage key={params.name} name={params.name} />;
  return (
    <p>
      No page here. <Link href="/">Experiments</Link>
    </p>
  );
}
