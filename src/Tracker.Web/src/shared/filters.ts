/** MLflow's filter for names containing <text>, case-insensitively (experiments and registered models alike); null
 * when there is nothing to filter by. The pattern is quoted with a quote mark it does not contain. */
export function nameContains(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  const pattern = `%${t}%`;
  if (!t.includes("'")) return `name ILIKE '${pattern}'`;
  if (!t.includes('"')) return `name ILIKE "${pattern}"`;
  return `name ILIKE '${pattern.replaceAll("'", "_")}'`;
}
