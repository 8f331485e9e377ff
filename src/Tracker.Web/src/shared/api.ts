// The UI's only way to the server: Tracker's own REST API (MLflow's routes and Tracker's), same origin, with the
// signed-in user's bearer token when auth is on. Errors arrive as MLflow's {"error_code","message"} and are thrown as
// ApiError, so a view can show the server's own message inline.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type TokenSource = () => Promise<string | null>;
let tokenSource: TokenSource = async () => null;
let onUnauthorized: () => void = () => {};

/** Set by the auth module: where bearer tokens come from, and what to do when the server refuses one. */
export function configureAuth(source: TokenSource, unauthorized: () => void) {
  tokenSource = source;
  onUnauthorized = unauthorized;
}

export type Query = Record<string, string | number | boolean | undefined | null | (string | number)[]>;

/** MLflow's API root; a path starting with "/" is taken as it is (Tracker's own routes, the ajax-api). */
const MLFLOW = "/api/2.0/mlflow/";

export function url(path: string, query?: Query): string {
  const base = path.startsWith("/") ? path : MLFLOW + path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const qs = params.toString();
  return qs ? `${base}?${qs}` : base;
}

/** A request with the caller's credentials; the raw response (for downloads). Throws ApiError on any non-2xx. */
export async function send(method: string, path: string, options: { query?: Query; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = await tokenSource();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path, options.query), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    credentials: "omit",
  });
  if (response.ok) return response;
  let code = `HTTP_${response.status}`;
  let message = response.statusText || `The server answered ${response.status}.`;
  try {
    const error = await response.json();
    if (typeof error?.error_code === "string") code = error.error_code;
    if (typeof error?.message === "string") message = error.message;
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) onUnauthorized();
  throw new ApiError(response.status, code, message);
}

export async function get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
  return (await send("GET", path, { query, signal })).json() as Promise<T>;
}

export async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const response = await send("POST", path, { body, signal });
  const text = await response.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export async function patch<T>(path: string, body: unknown): Promise<T> {
  const response = await send("PATCH", path, { body });
  const text = await response.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export async function del<T>(path: string, body?: unknown, query?: Query): Promise<T> {
  const response = await send("DELETE", path, { body, query });
  const text = await response.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** A message for any error a request threw. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
