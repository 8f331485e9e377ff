// A run's artifacts: a tree listed with artifacts/list (directories load when expanded), the selected file kept in
// the URL (artifact=<path>), its preview and a download button. Bytes come from the artifact proxy with the UI's own
// credentials and are shown as text, a table of text, or an image from a blob: URL; never as a page.
import { useEffect, useState } from "preact/hooks";
import { describe, get } from "../shared/api";
import { setQuery } from "../shared/router";
import { baseName, downloadPath, formatBytes, readBlob, saveBlob, type FileInfo } from "./artifactFiles";
import { ArtifactPreview } from "./ArtifactPreview";

interface ListResponse {
  root_uri?: string;
  files?: FileInfo[];
}

export function Artifacts({ runId, artifactUri, selected }: { runId: string; artifactUri?: string; selected: string | null }) {
  const [rootUri, setRootUri] = useState<string | undefined>(artifactUri);
  const [listings, setListings] = useState<Record<string, FileInfo[] | undefined>>({});
  const [open, setOpen] = useState<Set<string>>(() => new Set(selected ? parentsOf(selected) : []));
  const [error, setError] = useState<string | null>(null);

  async function list(path: string) {
    try {
      const answer = await get<ListResponse>("artifacts/list", { run_id: runId, path: path || undefined });
      if (answer.root_uri) setRootUri(answer.root_uri);
      setListings((old) => ({ ...old, [path]: answer.files ?? [] }));
    } catch (e) {
      setError(describe(e));
    }
  }

  useEffect(() => {
    void list("");
    // A shared URL naming a file in a directory opens the directories on its way.
    for (const dir of selected ? parentsOf(selected) : []) void list(dir);
  }, [runId]);

  function toggle(dir: string) {
    const next = new Set(open);
    if (next.has(dir)) next.delete(dir);
    else {
      next.add(dir);
      if (!listings[dir]) void list(dir);
    }
    setOpen(next);
  }

  const root = listings[""];
  const selectedInfo = selected ? findFile(listings, selected) : undefined;
  const download = selected ? downloadPath(rootUri, selected) : null;

  return (
    <section aria-labelledby="artifacts-title" class="artifacts">
      <h2 id="artifacts-title">Artifacts</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="artifacts-panes">
        <nav aria-label="Artifact files" class="artifact-tree" data-testid="artifact-tree">
          {root === undefined ? (
            !error && <p aria-busy="true">Loading…</p>
          ) : root.length === 0 ? (
            <p class="hint">No artifacts.</p>
          ) : (
            <Tree files={root} listings={listings} open={open} selected={selected} toggle={toggle} />
          )}
        </nav>
        <div class="artifact-view">
          {selected === null ? (
            <p class="hint">Select a file to preview or download it.</p>
          ) : (
            <>
              <div class="toolbar">
                <strong class="artifact-name">{selected}</strong>
                {selectedInfo?.file_size !== undefined && <span class="hint">{formatBytes(selectedInfo.file_size)}</span>}
                {download && <DownloadButton path={download} name={baseName(selected)} />}
              </div>
              {download ? (
                <ArtifactPreview key={download} path={selected} url={download} size={selectedInfo?.file_size} />
              ) : (
                <p class="hint">This run's artifacts are not served by this server ({rootUri ?? "no artifact URI"}).</p>
              )}
            </>
          )}
        </div>
      </div>
    </section>
  );
}

function Tree(props: { files: FileInfo[]; listings: Record<string, FileInfo[] | undefined>; open: Set<string>; selected: string | null; toggle: (dir: string) => void }) {
  const { files, listings, open, selected, toggle } = props;
  return (
    <ul>
      {files.map((f) => {
        if (f.is_dir) {
          const expanded = open.has(f.path);
          const children = listings[f.path];
          return (
            <li key={f.path}>
              <button type="button" class="link tree-dir" aria-expanded={expanded} onClick={() => toggle(f.path)}>
                <span aria-hidden="true">{expanded ? "▾ " : "▸ "}</span>
                {baseName(f.path)}/
              </button>
              {expanded &&
                (children === undefined ? (
                  <p aria-busy="true" class="hint">
                    Loading…
                  </p>
                ) : children.length === 0 ? (
                  <p class="hint">Empty.</p>
                ) : (
                  <Tree {...props} files={children} />
                ))}
            </li>
          );
        }
        return (
          <li key={f.path}>
            <button
              type="button"
              class="link tree-file"
              aria-current={f.path === selected ? "true" : undefined}
              onClick={() => setQuery({ artifact: f.path })}
            >
              {baseName(f.path)}
            </button>
            <span class="hint"> {formatBytes(f.file_size)}</span>
          </li>
        );
      })}
    </ul>
  );
}

function DownloadButton({ path, name }: { path: string; name: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            // Fetched with the UI's credentials and saved from memory: the file is never opened from the API's origin.
            saveBlob(await readBlob(path, "application/octet-stream"), name);
            setError(null);
          } catch (e) {
            setError(describe(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? "Downloading…" : "Download"}
      </button>
      {error && (
        <span role="alert" class="error">
          {error}
        </span>
      )}
    </>
  );
}

function parentsOf(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

function findFile(listings: Record<string, FileInfo[] | undefined>, path: string): FileInfo | undefined {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  return listings[dir]?.find((f) => f.path === path);
}
