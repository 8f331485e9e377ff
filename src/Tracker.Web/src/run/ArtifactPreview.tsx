// The preview of one artifact. Text kinds read at most PREVIEW_BYTES and say when the file is longer; JSON is
// pretty-printed, CSV/TSV drawn as a table, images shown from a blob: URL (SVG too: as an <img>, where its scripts never
// run). HTML and everything else is shown as its source text, or not at all if it looks binary.
import { useEffect, useState } from "preact/hooks";
import { describe } from "../shared/api";
import {
  decodeText,
  formatBytes,
  IMAGE_PREVIEW_BYTES,
  imageType,
  looksBinary,
  parseDelimited,
  PREVIEW_BYTES,
  PREVIEW_ROWS,
  previewKind,
  readBlob,
  readStart,
} from "./artifactFiles";

type Loaded =
  | { kind: "text"; text: string; cut: boolean; note?: string }
  | { kind: "table"; rows: string[][]; more: boolean }
  | { kind: "image"; src: string }
  | { kind: "none"; reason: string };

export function ArtifactPreview({ path, url, size }: { path: string; url: string; size?: number | string }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    let objectUrl: string | null = null;
    setLoaded(null);
    setError(null);
    load(path, url, size, abort.signal).then(
      (result) => {
        if (abort.signal.aborted) {
          if (result.kind === "image") URL.revokeObjectURL(result.src);
          return;
        }
        if (result.kind === "image") objectUrl = result.src;
        setLoaded(result);
      },
      (e) => !abort.signal.aborted && setError(describe(e)),
    );
    return () => {
      abort.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url]);

  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (!loaded) return <p aria-busy="true">Loading preview…</p>;
  return (
    <div class="artifact-preview" data-testid="artifact-preview" data-kind={loaded.kind}>
      {loaded.kind === "text" && (
        <>
          {loaded.note && <p class="hint">{loaded.note}</p>}
          {loaded.cut && <p class="hint">Showing the first {formatBytes(PREVIEW_BYTES)}{size !== undefined ? ` of ${formatBytes(size)}` : ""}; download the file for the rest.</p>}
          <pre>{loaded.text}</pre>
        </>
      )}
      {loaded.kind === "table" && (
        <>
          {loaded.more && <p class="hint">Showing the first {loaded.rows.length - 1} rows; download the file for the rest.</p>}
          <div class="table-scroll">
            <table class="grid">
              {loaded.rows.length > 0 && (
                <thead>
                  <tr>
                    {loaded.rows[0].map((cell, i) => (
                      <th scope="col" key={i}>
                        {cell}
                      </th>
                    ))}
                  </tr>
                </thead>
              )}
              <tbody>
                {loaded.rows.slice(1).map((row, r) => (
                  <tr key={r}>
                    {row.map((cell, i) => (
                      <td key={i}>{cell}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {loaded.kind === "image" && <img src={loaded.src} alt={`Preview of ${path}`} class="artifact-image" />}
      {loaded.kind === "none" && <p class="hint">{loaded.reason}</p>}
    </div>
  );
}

async function load(path: string, url: string, size: number | string | undefined, signal: AbortSignal): Promise<Loaded> {
  const kind = previewKind(path);
  if (kind === "none") return { kind: "none", reason: "No preview for this kind of file; download it instead." };
  if (kind === "image") {
    if (size !== undefined && Number(size) > IMAGE_PREVIEW_BYTES) return { kind: "none", reason: `The image is larger than ${formatBytes(IMAGE_PREVIEW_BYTES)}; download it instead.` };
    return { kind: "image", src: URL.createObjectURL(await readBlob(url, imageType(path), signal)) };
  }
  const { bytes, cut } = await readStart(url, PREVIEW_BYTES, signal);
  if (looksBinary(bytes)) return { kind: "none", reason: "This file looks binary; download it instead." };
  const text = decodeText(bytes, cut);
  if (kind === "json" && !cut) {
    try {
      return { kind: "text", text: JSON.stringify(JSON.parse(text), null, 2), cut };
    } catch {
      return { kind: "text", text, cut, note: "Not valid JSON; shown as text." };
    }
  }
  if (kind === "csv" || kind === "tsv") {
    const { rows, more } = parseDelimited(text, kind === "csv" ? "," : "\t", PREVIEW_ROWS + 1, cut);
    return { kind: "table", rows, more: more || cut };
  }
  if (kind === "html") return { kind: "text", text, cut, note: "HTML is shown as its source, never as a page." };
  return { kind: "text", text, cut };
}
