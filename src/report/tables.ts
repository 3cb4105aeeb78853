// Tables for people: markdown for reports and READMEs, fixed-width text for the terminal
// (benchmarks print one of these next to the JSON a script compares).

export type Cell = string | number | boolean | null | undefined;
export type Align = 'left' | 'right' | 'center';

export interface TableOptions {
  /** Per column; by default numbers are right-aligned and text left-aligned. */
  align?: readonly Align[];
  /** Decimals for non-integer numbers (default 3). */
  digits?: number;
}

/** How a cell prints: integers as they are, other numbers with `digits` decimals. */
export function formatCell(v: Cell, digits = 3): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Number.POSITIVE_INFINITY) return 'inf';
    if (v === Number.NEGATIVE_INFINITY) return '-inf';
    if (Number.isInteger(v)) return String(v);
    // tiny or huge values would print as 0.000 or a wall of digits
    const a = Math.abs(v);
    if (a !== 0 && (a < 10 ** -digits || a >= 1e12)) return v.toExponential(Math.max(1, digits - 1));
    return v.toFixed(digits);
  }
  return String(v);
}

function alignments(headers: readonly string[], rows: readonly (readonly Cell[])[], align?: readonly Align[]): Align[] {
  return headers.map((_, j) => {
    if (align?.[j]) return align[j]!;
    const col = rows.map((r) => r[j]).filter((v) => v !== null && v !== undefined && v !== '');
    return col.length > 0 && col.every((v) => typeof v === 'number') ? 'right' : 'left';
  });
}

function checkRows(headers: readonly string[], rows: readonly (readonly Cell[])[], what: string): void {
  rows.forEach((r, i) => {
    if (r.length > headers.length) throw new Error(`${what}: row ${i} has ${r.length} cells for ${headers.length} columns`);
  });
}

/** A GitHub-flavoured markdown table. Pipes and line breaks inside cells are escaped. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly Cell[])[], options: TableOptions = {}): string {
  checkRows(headers, rows, 'markdownTable');
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const al = alignments(headers, rows, options.align);
  const rule = al.map((a) => (a === 'right' ? '---:' : a === 'center' ? ':---:' : '---'));
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const body = rows.map((r) => line(headers.map((_, j) => esc(formatCell(r[j], options.digits)))));
  return [line(headers.map(esc)), line(rule), ...body].join('\n') + '\n';
}

function pad(s: string, width: number, align: Align): string {
  const gap = width - [...s].length;
  if (gap <= 0) return s;
  if (align === 'right') return ' '.repeat(gap) + s;
  if (align === 'center') return ' '.repeat(gap >> 1) + s + ' '.repeat(gap - (gap >> 1));
  return s + ' '.repeat(gap);
}

/** A fixed-width table for the terminal: header, a rule of dashes, one line per row. */
export function textTable(headers: readonly string[], rows: readonly (readonly Cell[])[], options: TableOptions & { gap?: number } = {}): string {
  checkRows(headers, rows, 'textTable');
  const al = alignments(headers, rows, options.align);
  const cells = rows.map((r) => headers.map((_, j) => formatCell(r[j], options.digits).replace(/\r?\n/g, ' ')));
  const widths = headers.map((h, j) => Math.max([...h].length, ...cells.map((r) => [...r[j]!].length)));
  const sep = ' '.repeat(options.gap ?? 2);
  const line = (cs: readonly string[]) => cs.map((c, j) => pad(c, widths[j]!, al[j]!)).join(sep).trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join(sep), ...cells.map(line)].join('\n') + '\n';
}
