// Which param, metric and tag columns the runs table shows: every key seen in the loaded runs, one checkbox each.
import { columnName, type ColumnId, type Keys } from "./columns";

const groups = [
  { kind: "params", title: "Params" },
  { kind: "metrics", title: "Metrics" },
  { kind: "tags", title: "Tags" },
] as const;

export function ColumnChooser({ keys, columns, onChange }: { keys: Keys; columns: ColumnId[]; onChange: (columns: ColumnId[]) => void }) {
  const shown = new Set(columns.map(columnName));
  return (
    <details
      class="column-chooser"
      onKeyDown={(e) => {
        // Escape closes the list, as it would a menu.
        if (e.key !== "Escape" || !e.currentTarget.open) return;
        e.currentTarget.open = false;
        e.currentTarget.querySelector("summary")?.focus();
      }}
    >
      <summary>Columns ({columns.length})</summary>
      <div class="chooser">
        {groups.map(({ kind, title }) => (
          <fieldset key={kind}>
            <legend>{title}</legend>
            {keys[kind].length === 0 && <span class="hint">none yet</span>}
            {keys[kind].map((key) => {
              const name = columnName({ kind, key });
              return (
                <label key={name}>
                  <input
                    type="checkbox"
                    checked={shown.has(name)}
                    onChange={(e) =>
                      onChange(e.currentTarget.checked ? [...columns, { kind, key }] : columns.filter((c) => columnName(c) !== name))
                    }
                  />
                  {key}
                </label>
              );
            })}
          </fieldset>
        ))}
      </div>
    </details>
  );
}
