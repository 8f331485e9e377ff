// MLflow filter strings for the registry searches. A quoted value is taken verbatim between its quotes (no escapes), so a
// name is quoted with whichever quote it does not contain; a name holding both cannot be written exactly, and is
// matched with LIKE ('_' standing for each quote) and then compared exactly by the caller.

/** `name = '<name>'` (or a LIKE the caller must narrow: `exact` false). */
export function nameEquals(name: string): { filter: string; exact: boolean } {
  if (!name.includes("'")) return { filter: `name = '${name}'`, exact: true };
  if (!name.includes('"')) return { filter: `name = "${name}"`, exact: true };
  return { filter: `name LIKE '${name.replaceAll("'", "_").replaceAll("%", "_")}'`, exact: false };
}

export const modelHref = (name: string) => `/models/${encodeURIComponent(name)}`;
