// "Sign in with Microsoft": Microsoft Entra ID as a public client (the UI's own SPA app registration): authorization code
// with PKCE by redirect, no client secret, through MSAL. MSAL is loaded only when the server configured Entra sign-in,
// and keeps its tokens in sessionStorage, so they end with the browser session like a pasted token. The access token is
// for Tracker's API audience (the configured scopes), sent as Bearer by the API client.
import type { IPublicClientApplication } from "@azure/msal-browser";
import type { UiConfig } from "./session";

type EntraConfig = NonNullable<UiConfig["entra"]>;

let app: IPublicClientApplication | null = null;
let scopes: string[] = [];
let startError: string | null = null;

/** Why Microsoft sign-in could not start or finish (the sign-in page shows it; a pasted token still works). */
export function entraError(): string | null {
  return startError;
}

/** Starts MSAL and completes a sign-in this page load is the redirect back from (the authorization code's redemption). */
export async function startEntra(config: EntraConfig): Promise<void> {
  try {
    await start(config);
    startError = null;
  } catch (e) {
    startError = `Microsoft sign-in failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function start(config: EntraConfig) {
  const { PublicClientApplication } = await import("@azure/msal-browser");
  scopes = config.scopes;
  const client = new PublicClientApplication({
    auth: {
      clientId: config.clientId,
      authority: config.authority,
      // The app's own URL: the SPA registration's redirect URI. MSAL returns to the page the sign-in started from.
      redirectUri: location.origin + "/",
      postLogoutRedirectUri: null,
    },
    cache: { cacheLocation: "sessionStorage" },
  });
  await client.initialize();
  const result = await client.handleRedirectPromise();
  const account = result?.account ?? client.getActiveAccount() ?? client.getAllAccounts()[0] ?? null;
  if (account) client.setActiveAccount(account);
  app = client;
}

export function entraSignedIn(): boolean {
  return app?.getActiveAccount() != null;
}

export function entraUser(): string | null {
  return app?.getActiveAccount()?.username ?? null;
}

/** Off to the tenant's sign-in page; the page comes back through startEntra. */
export async function signInWithMicrosoft(): Promise<void> {
  if (!app) throw new Error("Microsoft sign-in is not ready.");
  await app.loginRedirect({ scopes });
}

/** An access token for the API (from MSAL's cache, renewed silently); a new interactive sign-in when that fails. */
export async function entraToken(): Promise<string | null> {
  const account = app?.getActiveAccount();
  if (!app || !account) return null;
  try {
    return (await app.acquireTokenSilent({ scopes, account })).accessToken;
  } catch (e) {
    const { InteractionRequiredAuthError } = await import("@azure/msal-browser");
    if (e instanceof InteractionRequiredAuthError) await app.acquireTokenRedirect({ scopes, account });
    throw e;
  }
}

/** Forgets the signed-in account and its tokens in this browser session (not a sign-out from Microsoft everywhere). */
export async function signOutEntra(): Promise<void> {
  if (!app) return;
  const account = app.getActiveAccount();
  app.setActiveAccount(null);
  await app.clearCache(account ? { account } : undefined);
}
