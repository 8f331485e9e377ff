// Who the UI calls the API as. With auth off (local) nobody: requests go without credentials. With auth on, a Tracker
// token the user pasted, or an Entra ID access token (auth/entra.ts); either is kept in sessionStorage only, so it
// ends with the browser session. The UI never holds a storage key: artifacts come through the API.
import { configureAuth } from "../shared/api";

export interface UiConfig {
  /** Whether the API asks for credentials. */
  auth: boolean;
  /** Entra ID sign-in for the UI (a public client, authorization code + PKCE), when configured. */
  entra: { clientId: string; authority: string; scopes: string[] } | null;
}

/** The Entra side of a session, when Entra sign-in is configured (auth/entra.ts). */
export interface EntraSession {
  signedIn: () => boolean;
  token: () => Promise<string | null>;
  signOut: () => Promise<void>;
}

const TOKEN_KEY = "tracker.token";
const listeners = new Set<() => void>();
let entra: EntraSession | null = null;
let refusal: string | null = null;

/** Why the last session ended without the user asking (the API refused its credentials); read once by the sign-in page. */
export function takeRefusal(): string | null {
  const message = refusal;
  refusal = null;
  return message;
}

export function pastedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function usePastedToken(token: string) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  changed();
}

export function signedIn(): boolean {
  return pastedToken() !== null || (entra?.signedIn() ?? false);
}

/** Ends the session in this tab: the pasted token and any Entra account are forgotten. */
export async function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  try {
    await entra?.signOut();
  } finally {
    changed();
  }
}

/** Someone (a 401, a sign-in, a sign-out) changed who the UI is: the shell re-renders. */
export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

export function changed() {
  listeners.forEach((l) => l());
}

/** The settings index.html carries (a meta tag the server fills in), or null on a page without them. */
export function embeddedConfig(): UiConfig | null {
  const content = document.querySelector<HTMLMetaElement>('meta[name="tracker-config"]')?.content;
  return content ? (JSON.parse(content) as UiConfig) : null;
}

export async function loadConfig(): Promise<UiConfig> {
  const embedded = embeddedConfig();
  if (embedded) return embedded;
  const response = await fetch("/ui-config.json", { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new Error(`Could not load the UI's settings (${response.status}).`);
  return (await response.json()) as UiConfig;
}

/** The API client's token source: a pasted token first, else Entra's. A refused token ends the session (back to sign-in). */
export function installTokenSource(session: EntraSession | null) {
  entra = session;
  configureAuth(
    async () => pastedToken() ?? (entra ? await entra.token() : null),
    () => {
      refusal = "Tracker no longer accepts these credentials (401): sign in again.";
      void signOut();
    },
  );
}
