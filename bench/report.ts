/** Plain-text tables for the benchmark report. */

export type Row = readonly string[] | { readonly section: string };

export interface Table {
  /** Header lines; each has one cell per column (use '' to leave one empty). */
  readonly header: ReadonlyArray<readonly string[]>;
  readonly rows: readonly Row[];
}

/** Renders `table`: the first column left-aligned, the rest right-aligned, two spaces apart. */
export function renderTable(table: Table): string {
  const lines = [...table.header, ...table.rows.filter((r): r is readonly string[] => Array.isArray(r))];
  const columns = Math.max(...lines.map((l) => l.length));
  const width = Array.from({ length: columns }, (_, c) => Math.max(...lines.map((l) => (l[c] ?? '').length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(width[c]!) : cell.padStart(width[c]!)))
      .join('  ')
      .trimEnd();
  const total = width.reduce((a, b) => a + b, 0) + 2 * (columns - 1);
  const out = table.header.map(render);
  out.push('-'.repeat(total));
  for (const row of table.rows) out.push(Array.isArray(row) ? render(row as readonly string[]) : `${(row as { section: string }).section}`);
  return out.join('\n');
}

export function ms(value: number | undefined, digits?: number): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  const d = digits ?? (Math.abs(value) < 10 ? 3 : Math.abs(value) < 100 ? 2 : 1);
  return value.toFixed(d);
}

export function added(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base)) return '-';
  const diff = value - base;
  const d = Math.abs(diff) < 10 ? 3 : Math.abs(diff) < 100 ? 2 : 1;
  return `${diff >= 0 ? '+' : ''}${diff.toFixed(d)}`;
}

export function ratio(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base === 0) return '-';
  return `${(value / base).toFixed(2)}x`;
}

export function mib(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '-';
  return (bytes / (1024 * 1024)).toFixed(1);
}
