// The runs table as one focusable ARIA grid, windowed: rows have a fixed height, and only the rows in (or near) the
// scrolled view are in the DOM, with spacer rows standing for the others, so 10,000 runs cost what 40 do. The grid is
// the one tab stop; the arrow keys, PageUp/PageDown and Home/End move the active row (aria-activedescendant), Space
// selects it, Enter opens it.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { formatDuration, formatNumber, formatTime } from "../shared/format";
import { navigate } from "../shared/router";
import { columnName, type ColumnId, type Line } from "./columns";

export const ROW_HEIGHT = 32;
const OVERSCAN = 8;

interface Props {
  experimentId: string;
  lines: Line[];
  loadedCount: number;
  columns: ColumnId[];
  sort: ColumnId;
  descending: boolean;
  onSort: (column: ColumnId) => void;
  selected: Set<string>;
  onSelect: (ids: string[], selected: boolean) => void;
  onSelectAll: (selected: boolean) => void;
  collapsed: Set<string>;
  onCollapse: (id: string, collapsed: boolean) => void;
  ready: boolean;
  label: string;
}

const fixed: { title: string; sort?: string; width: number }[] = [
  { title: "Run name", sort: "run_name", width: 220 },
  { title: "Start time", sort: "start_time", width: 170 },
  { title: "Duration", width: 80 },
  { title: "User", sort: "user_id", width: 100 },
  { title: "Status", sort: "status", width: 95 },
];
const SELECT_WIDTH = 40;
const KEY_WIDTH = 120;
const kindLabel = { params: "param", metrics: "metric", tags: "tag", attributes: "" } as const;

export const runHref = (experimentId: string, runId: string) =>
  `/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;

export function RunsGrid(props: Props) {
  const { lines, columns, selected } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const grid = useRef<HTMLTableElement>(null);
  const head = useRef<HTMLTableSectionElement>(null);
  const selectAll = useRef<HTMLInputElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const [active, setActive] = useState(-1);
  const followActive = useRef(false);

  useEffect(() => {
    const box = scroller.current;
    if (!box) return;
    const observer = new ResizeObserver(() => setViewport(box.clientHeight));
    observer.observe(box);
    setViewport(box.clientHeight);
    return () => observer.disconnect();
  }, []);

  // A new search (or a collapse) can leave the active row past the end.
  const current = active >= lines.length ? lines.length - 1 : active;

  // Keep the row the keyboard moved to in view, below the sticky header.
  useLayoutEffect(() => {
    const box = scroller.current;
    if (!followActive.current || !box || current < 0) return;
    followActive.current = false;
    const header = head.current?.offsetHeight ?? ROW_HEIGHT;
    const top = current * ROW_HEIGHT;
    if (top < box.scrollTop) box.scrollTop = top;
    else if (top + ROW_HEIGHT > box.scrollTop + box.clientHeight - header) box.scrollTop = top + ROW_HEIGHT - box.clientHeight + header;
    setScrollTop(box.scrollTop);
  }, [current]);

  const loadedSelected = selected.size;
  useEffect(() => {
    if (selectAll.current) selectAll.current.indeterminate = loadedSelected > 0 && loadedSelected < props.loadedCount;
  });

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(lines.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);
  const pageRows = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 2);
  const width = SELECT_WIDTH + fixed.reduce((w, c) => w + c.width, 0) + columns.length * KEY_WIDTH;
  const colCount = 1 + fixed.length + columns.length;

  const move = (to: number) => {
    if (lines.length === 0) return;
    followActive.current = true;
    setActive(Math.max(0, Math.min(lines.length - 1, to)));
  };
  const open = (i: number) => lines[i] && navigate(runHref(props.experimentId, lines[i].row.id));
  const toggle = (i: number) => {
    const line = lines[i];
    if (line) props.onSelect([line.row.id], !selected.has(line.row.id));
  };

  const onKeyDown = (e: KeyboardEvent) => {
    // Keys typed into a control inside a row (a checkbox someone clicked) are that control's.
    if (e.target !== e.currentTarget && (e.key === " " || e.key === "Enter")) return;
    const at = current < 0 ? -1 : current;
    switch (e.key) {
      case "ArrowDown":
        move(at + 1);
        break;
      case "ArrowUp":
        move(at - 1);
        break;
      case "PageDown":
        move(at + pageRows);
        break;
      case "PageUp":
        move(at - pageRows);
        break;
      case "Home":
        move(0);
        break;
      case "End":
        move(lines.length - 1);
        break;
      case " ":
        if (at >= 0) toggle(at);
        break;
      case "Enter":
        if (at >= 0) open(at);
        break;
      case "ArrowRight":
      case "ArrowLeft": {
        const line = lines[at];
        if (!line || line.childCount === 0) return;
        props.onCollapse(line.row.id, e.key === "ArrowLeft");
        break;
      }
      default:
        return;
    }
    e.preventDefault();
  };

  const ariaSort = (column: ColumnId) =>
    column.kind === props.sort.kind && column.key === props.sort.key ? (props.descending ? "descending" : "ascending") : undefined;

  const header = (column: ColumnId, title: string, kind?: string) => (
    <th
      key={columnName(column)}
      role="columnheader"
      scope="col"
      class={column.kind === "metrics" ? "num" : undefined}
      aria-sort={ariaSort(column) ?? "none"}
      title={columnName(column)}
    >
      <button type="button" tabIndex={-1} class="sort" onClick={() => props.onSort(column)}>
        {kind && <span class="kind">{kind} </span>}
        {title}
        <span aria-hidden="true" class="arrow">
          {ariaSort(column) === "ascending" ? " ▲" : ariaSort(column) === "descending" ? " ▼" : ""}
        </span>
      </button>
    </th>
  );

  const visible = lines.slice(first, last);
  const activeId = current >= 0 && lines[current] ? rowId(lines[current].row.id) : undefined;

  return (
    <div class="runs-scroll" ref={scroller} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
      <table
        ref={grid}
        role="grid"
        class="runs-grid"
        tabIndex={0}
        aria-label={props.label}
        aria-multiselectable="true"
        aria-rowcount={lines.length + 1}
        aria-colcount={colCount}
        aria-activedescendant={activeId}
        data-ready={props.ready ? "true" : undefined}
        data-testid="runs-grid"
        style={{ width: `${width}px` }}
        onKeyDown={onKeyDown}
        onFocus={() => current < 0 && lines.length > 0 && setActive(Math.min(lines.length - 1, Math.floor(scrollTop / ROW_HEIGHT)))}
      >
        <colgroup>
          <col style={{ width: `${SELECT_WIDTH}px` }} />
          {fixed.map((c) => (
            <col key={c.title} style={{ width: `${c.width}px` }} />
          ))}
          {columns.map((c) => (
            <col key={columnName(c)} style={{ width: `${KEY_WIDTH}px` }} />
          ))}
        </colgroup>
        <thead ref={head}>
          <tr role="row" aria-rowindex={1}>
            <th role="columnheader" scope="col">
              <input
                ref={selectAll}
                type="checkbox"
                tabIndex={-1}
                aria-label="Select all loaded runs"
                checked={props.loadedCount > 0 && loadedSelected >= props.loadedCount}
                onChange={(e) => {
                  props.onSelectAll(e.currentTarget.checked);
                  grid.current?.focus({ preventScroll: true });
                }}
              />
            </th>
            {fixed.map((c) =>
              c.sort ? (
                header({ kind: "attributes", key: c.sort }, c.title)
              ) : (
                <th key={c.title} role="columnheader" scope="col">
                  {c.title}
                </th>
              ),
            )}
            {columns.map((c) => header(c, c.key, kindLabel[c.kind]))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && (
            <tr aria-hidden="true" class="spacer" style={{ height: `${first * ROW_HEIGHT}px` }}>
              <td colSpan={colCount} />
            </tr>
          )}
          {visible.map((line, offset) => {
            const i = first + offset;
            const { row } = line;
            const isSelected = selected.has(row.id);
            const isCollapsed = props.collapsed.has(row.id);
            return (
              <tr
                key={row.id}
                id={rowId(row.id)}
                role="row"
                aria-rowindex={i + 2}
                aria-selected={isSelected ? "true" : "false"}
                aria-level={line.depth + 1}
                aria-expanded={line.childCount > 0 ? (isCollapsed ? "false" : "true") : undefined}
                class={`${i === current ? "active" : ""}${row.deleted ? " deleted" : ""}`}
                data-run-id={row.id}
                onClick={(e) => {
                  // A render between a checkbox's click and its change event would undo the click: the checkbox sets
                  // the active row itself, in its change handler.
                  if (!(e.target instanceof HTMLInputElement)) setActive(i);
                }}
              >
                <td role="gridcell">
                  <input
                    type="checkbox"
                    tabIndex={-1}
                    aria-label={`Select ${row.name}`}
                    checked={isSelected}
                    onChange={(e) => {
                      props.onSelect([row.id], e.currentTarget.checked);
                      setActive(i);
                      grid.current?.focus({ preventScroll: true });
                    }}
                  />
                </td>
                <td role="gridcell" class="name" title={row.name}>
                  <span class="indent" style={{ paddingLeft: `${line.depth * 18}px` }}>
                    {line.childCount > 0 ? (
                      <button
                        type="button"
                        class="twisty"
                        tabIndex={-1}
                        aria-label={`${isCollapsed ? "Expand" : "Collapse"} ${line.childCount} child runs of ${row.name}`}
                        onClick={() => props.onCollapse(row.id, !isCollapsed)}
                      >
                        {isCollapsed ? "▸" : "▾"}
                      </button>
                    ) : (
                      <span class="twisty-space" />
                    )}
                    <a
                      href={runHref(props.experimentId, row.id)}
                      tabIndex={-1}
                      onClick={(e) => {
                        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
                        e.preventDefault();
                        open(i);
                      }}
                    >
                      {row.name}
                    </a>
                    {row.deleted && <span class="hint"> (deleted)</span>}
                  </span>
                </td>
                <td role="gridcell">{formatTime(row.start)}</td>
                <td role="gridcell">{formatDuration(row.start, row.end)}</td>
                <td role="gridcell" title={row.user}>
                  {row.user}
                </td>
                <td role="gridcell">{row.status}</td>
                {columns.map((c) => {
                  const value = c.kind === "metrics" ? formatNumber(row.metrics[c.key]) : c.kind === "params" ? row.params[c.key] : row.tags[c.key];
                  return (
                    <td key={columnName(c)} role="gridcell" class={c.kind === "metrics" ? "num" : undefined} title={value}>
                      {value ?? ""}
                    </td>
                  );
                })}
              </tr>
            );
          })}
          {last < lines.length && (
            <tr aria-hidden="true" class="spacer" style={{ height: `${(lines.length - last) * ROW_HEIGHT}px` }}>
              <td colSpan={colCount} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

// Run ids are hex, so they make valid element ids.
const rowId = (runId: string) => `run-row-${runId}`;
