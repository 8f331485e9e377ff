// Sign-in with auth on: a pasted Tracker token (checked, kept in sessionStorage for the tab's session only, forgotten
// on sign-out or when the API refuses it), and "Sign in with Microsoft" starting an authorization-code + PKCE request
// as a public client (intercepted: no network).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createAdminToken, launchBrowser, recordErrors, screenshot, startTracker } from "./harness.mjs";

let browser;
const trackers = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const tracker of trackers) await tracker.stop();
});

async function start(env) {
  const tracker = await startTracker({ Tracker__Auth__Disabled: "false", ...env });
  trackers.push(tracker);
  return tracker;
}

async function call(tracker, token, method, path, body) {
  const response = await fetch(`${tracker.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

function watch(page) {
  // The refusals the test provokes (a wrong token: 401) log "Failed to load resource"; anything else fails.
  return recordErrors(page, { failedRequestsAllowed: true });
}

test("with auth on the UI asks for a token, refuses a wrong one, keeps the right one for the tab's session, and signs out", async () => {
  const tracker = await start({});
  const token = createAdminToken(tracker);
  await call(tracker, token, "POST", "/api/2.0/mlflow/experiments/create", { name: "ui-auth-seeded" });

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(tracker.url + "/");
  const heading = page.getByRole("heading", { name: "Sign in" });
  await heading.waitFor();
  assert.equal(await page.getByRole("button", { name: "Sign in with Microsoft" }).count(), 0, "no Entra sign-in unless configured");
  await screenshot(page, "signin");

  await page.getByLabel("Tracker token").fill("trk_not-a-real-token");
  await page.getByRole("button", { name: "Use token" }).click();
  await page.getByRole("alert").filter({ hasText: "refused this token" }).waitFor();
  await heading.waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  await page.getByLabel("Tracker token").fill(token);
  await page.getByRole("button", { name: "Use token" }).click();
  const seeded = page.getByTestId("experiments").getByRole("link", { name: "ui-auth-seeded" });
  await seeded.waitFor();
  assert.equal(await heading.count(), 0);
  // Kept in this tab's session storage only, never in local storage or a cookie.
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.deepEqual(await context.cookies(), []);

  await page.reload();
  await seeded.waitFor();

  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto(tracker.url + "/");
  await otherPage.getByRole("heading", { name: "Sign in" }).waitFor();
  await other.close();

  await page.getByRole("button", { name: "Sign out" }).click();
  await heading.waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.reload();
  await heading.waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test("a token the API stops accepting sends the user back to sign-in", async () => {
  const tracker = await start({});
  const admin = createAdminToken(tracker);
  const { token, token_info: info } = await call(tracker, admin, "POST", "/api/2.0/tracker/tokens/create", { name: "ui-short-lived" });

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(tracker.url + "/");
  await page.getByLabel("Tracker token").fill(token);
  await page.getByRole("button", { name: "Use token" }).click();
  await page.getByRole("heading", { name: "Experiments" }).waitFor();

  await call(tracker, admin, "POST", "/api/2.0/tracker/tokens/revoke", { token_id: info.token_id });
  await page.getByRole("link", { name: "Models" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByRole("alert").filter({ hasText: "no longer accepts" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("tracker.token")), null);
  await context.close();
});

test("Sign in with Microsoft sends an authorization-code + PKCE request as a public client", async () => {
  const tenant = randomUUID();
  const clientId = randomUUID();
  const tracker = await start({
    Tracker__Auth__Entra__TenantId: tenant,
    Tracker__Auth__Entra__Audiences__0: "api://tracker-ui-test",
    Tracker__Ui__EntraClientId: clientId,
  });
  const login = `https://login.microsoftonline.com/${tenant}`;
  const csp = (await fetch(tracker.url + "/")).headers.get("content-security-policy");
  assert.match(csp, /connect-src 'self' https:\/\/login\.microsoftonline\.com;/);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = watch(page);
  // The tenant, played here: its metadata and instance discovery answered, the authorize request recorded.
  const seen = [];
  let authorize = null;
  await page.route("https://login.microsoftonline.com/**", async (route) => {
    const request = route.request();
    seen.push({ url: request.url(), body: request.postData() ?? "" });
    const url = new URL(request.url());
    const json = (body) => route.fulfill({ status: 200, contentType: "application/json", headers: { "Access-Control-Allow-Origin": "*" }, body: JSON.stringify(body) });
    if (url.pathname.endsWith("/.well-known/openid-configuration"))
      return json({
        issuer: `${login}/v2.0`,
        authorization_endpoint: `${login}/oauth2/v2.0/authorize`,
        token_endpoint: `${login}/oauth2/v2.0/token`,
        end_session_endpoint: `${login}/oauth2/v2.0/logout`,
        jwks_uri: `${login}/discovery/v2.0/keys`,
        response_modes_supported: ["query", "fragment", "form_post"],
      });
    if (url.pathname.endsWith("/discovery/instance"))
      return json({
        tenant_discovery_endpoint: `${login}/v2.0/.well-known/openid-configuration`,
        "api-version": "1.1",
        metadata: [{ preferred_network: "login.microsoftonline.com", preferred_cache: "login.windows.net", aliases: ["login.microsoftonline.com", "login.windows.net"] }],
      });
    if (url.pathname.endsWith("/oauth2/v2.0/authorize")) {
      authorize = url;
      return route.fulfill({ status: 200, contentType: "text/html", body: "<title>Microsoft sign-in (test)</title><p>signing in" });
    }
    return route.fulfill({ status: 404, body: "" });
  });

  await page.goto(tracker.url + "/experiments/0");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("Or paste a Tracker token").waitFor();
  await screenshot(page, "signin-entra");
  await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
  await page.waitForURL(/oauth2\/v2\.0\/authorize/);

  assert.ok(authorize, `no authorize request among ${seen.map((s) => s.url).join(", ")}`);
  const q = authorize.searchParams;
  assert.equal(authorize.origin + authorize.pathname, `${login}/oauth2/v2.0/authorize`);
  assert.equal(q.get("response_type"), "code");
  assert.equal(q.get("code_challenge_method"), "S256");
  assert.match(q.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/);
  assert.equal(q.get("client_id"), clientId);
  assert.equal(q.get("redirect_uri"), tracker.url + "/");
  assert.ok((q.get("scope") ?? "").split(" ").includes("api://tracker-ui-test/.default"), q.get("scope"));
  for (const { url, body } of seen) assert.doesNotMatch(url + body, /client_secret|client_assertion/i);
  assert.deepEqual(errors, []);
  await context.close();
});
