// Artifacts as the run view reads them: where a file downloads from (MLflow's artifact proxy on Tracker's own API,
// with the UI's credentials; the UI never holds a storage key), how it is previewed, and a CSV reader. Nothing here
// ever turns artifact bytes into markup: previews are text, tables of text, or images from blob: URLs.
import { send } from "../shared/api";

export interface FileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}

/** Bytes a text preview reads at most; the rest of a longer file is not fetched. */
export const PREVIEW_BYTES = 1024 * 1024;
/** Images larger than this are not previewed (they can still be downloaded). */
export const IMAGE_PREVIEW_BYTES = 20 * 1024 * 1024;
/** Rows of a CSV/TSV preview. */
export const PREVIEW_ROWS = 500;

const PROXY_SCHEME = "mlflow-artifacts:";
const PROXY_ROUTE = "/api/2.0/mlflow-artifacts/artifacts/";

/**
 * The download route of a file below a run's artifact root: a run's artifact_uri is
 * mlflow-artifacts:/<experiment_id>/<run_id>/artifacts, served by the proxy at the same path. Null for a root this
 * server does not proxy (mlflow-artifacts://other-host/…, or another scheme).
 */
export function downloadPath(rootUri: string | undefined, path: string): string | null {
  if (!rootUri?.startsWith(PROXY_SCHEME)) return null;
  const root = rootUri.slice(PROXY_SCHEME.length);
  if (root.startsWith("//")) return null;
  const segments = [...root.split("/"), ...path.split("/")].filter((s) => s !== "");
  return PROXY_ROUTE + segments.map(encodeURIComponent).join("/");
}

export type PreviewKind = "text" | "json" | "csv" | "tsv" | "image" | "html" | "none";

const TEXT = new Set(["txt", "log", "md", "markdown", "yaml", "yml", "py", "r", "sh", "toml", "ini", "cfg", "conf", "sql", "xml", "js", "ts", "java", "scala", "c", "h", "cpp", "go", "rs", "properties", "rst", "out", "err", "jsonl", "ndjson"]);
const TEXT_NAMES = new Set(["MLmodel", "MLproject", "Dockerfile", "LICENSE", "README", "requirements.txt", "conda.yaml"]);
const IMAGE_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", svg: "image/svg+xml", bmp: "image/bmp" };
const BINARY = new Set(["pkl", "pickle", "pt", "pth", "bin", "onnx", "h5", "npy", "npz", "parquet", "zip", "gz", "tar", "whl", "so", "dll", "exe", "joblib", "safetensors", "ckpt", "pb", "tflite", "cbm", "ubj"]);

export function extension(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot + 1).toLowerCase();
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** How a file is previewed. HTML is listed on its own so the view can say it shows the source, never the page. */
export function previewKind(path: string): PreviewKind {
  const ext = extension(path);
  if (ext === "json") return "json";
  if (ext === "csv") return "csv";
  if (ext === "tsv") return "tsv";
  if (ext in IMAGE_TYPES) return "image";
  if (ext === "html" || ext === "htm") return "html";
  if (TEXT.has(ext) || TEXT_NAMES.has(baseName(path))) return "text";
  if (BINARY.has(ext)) return "none";
  return "text"; // unknown: read as text, and shown only if it does not look binary
}

export function imageType(path: string): string {
  return IMAGE_TYPES[extension(path)] ?? "application/octet-stream";
}

/** At most `limit` bytes of the file, and whether it was longer. The download is cancelled past the limit. */
export async function readStart(path: string, limit: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const response = await send("GET", path, { signal });
  const reader = response.body?.getReader();
  if (!reader) {
    const all = new Uint8Array(await response.arrayBuffer());
    return { bytes: all.slice(0, limit), cut: all.length > limit };
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cut = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      cut = true;
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let at = 0;
  for (const chunk of chunks) {
    const take = Math.min(chunk.length, bytes.length - at);
    bytes.set(chunk.subarray(0, take), at);
    at += take;
    if (at === bytes.length) break;
  }
  return { bytes, cut };
}

/** The whole file as a Blob of the given type (downloads and images). */
export async function readBlob(path: string, type: string, signal?: AbortSignal): Promise<Blob> {
  const response = await send("GET", path, { signal });
  return new Blob([await response.arrayBuffer()], { type });
}

/** Text of a file's first bytes; a multi-byte character cut at the limit is dropped. */
export function decodeText(bytes: Uint8Array, cut: boolean): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes, { stream: cut });
}

/** A NUL byte in the first 8 KB: not text. */
export function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

/**
 * RFC 4180 records: quoted fields may hold the delimiter, newlines and doubled quotes; CRLF or LF ends a record.
 * Stops after `maxRows` rows (`more` says whether any were left). A text cut mid-file may end in a partial record,
 * which is dropped when `dropLast` is set.
 */
export function parseDelimited(text: string, delimiter: string, maxRows: number, dropLast = false): { rows: string[][]; more: boolean } {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const n = text.length;
  const endRow = () => {
    row.push(field);
    field = "";
    rows.push(row);
    row = [];
  };
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      if (rows.length > maxRows) return { rows: rows.slice(0, maxRows), more: true };
    } else field += c;
    i++;
  }
  const partial = field !== "" || row.length > 0;
  if (partial && !dropLast) endRow();
  if (rows.length > maxRows) return { rows: rows.slice(0, maxRows), more: true };
  return { rows, more: partial && dropLast };
}

/** Saves bytes fetched through the API as a file: a blob: URL on an <a download>, revoked once the click is handled. */
export function saveBlob(blob: Blob, name: string) {
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export function formatBytes(size: number | string | undefined): string {
  if (size === undefined || size === "") return "";
  const n = Number(size);
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}
