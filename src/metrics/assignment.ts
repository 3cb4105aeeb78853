// Optimal assignment (the linear sum assignment problem), as scipy's `linear_sum_assignment`
// solves it: breaching matches each ground-truth image to one reconstruction this way before
// scoring, since an attack recovers a batch in no particular order.
// Shortest augmenting paths with dual potentials (Kuhn-Munkres in the Jonker-Volgenant form),
// O(n^2 m) for n rows and m >= n columns.

export interface Assignment {
  /** Row indices, ascending (every row when rows <= columns). */
  rows: number[];
  /** `cols[k]` is the column given to `rows[k]`. */
  cols: number[];
  /** Sum of the chosen costs. */
  total: number;
}

export type CostMatrix = readonly (readonly number[])[];

/**
 * Minimum-cost (or, with `maximize`, maximum-gain) assignment of rows to distinct columns.
 * Rectangular matrices are allowed: the smaller side is fully assigned. Costs must be finite.
 */
export function linearSumAssignment(cost: CostMatrix, options: { maximize?: boolean } = {}): Assignment {
  const n = cost.length;
  if (n === 0) return { rows: [], cols: [], total: 0 };
  const m = cost[0]!.length;
  for (let i = 0; i < n; i++) {
    const row = cost[i]!;
    if (row.length !== m) throw new Error(`linearSumAssignment: row ${i} has ${row.length} entries, row 0 has ${m}`);
    for (let j = 0; j < m; j++) {
      if (!Number.isFinite(row[j]!)) throw new Error(`linearSumAssignment: cost[${i}][${j}] is ${row[j]}`);
    }
  }
  if (m === 0) return { rows: [], cols: [], total: 0 };
  const sign = options.maximize ? -1 : 1;
  if (n <= m) {
    const colOfRow = solve(n, m, (i, j) => sign * cost[i]![j]!);
    const rows = colOfRow.map((_, i) => i);
    return { rows, cols: colOfRow, total: sumOf(cost, rows, colOfRow) };
  }
  // More rows than columns: assign every column to a row, then list by row as scipy does.
  const rowOfCol = solve(m, n, (j, i) => sign * cost[i]![j]!);
  const pairs = rowOfCol.map((r, c) => [r, c] as const).sort((a, b) => a[0] - b[0]);
  const rows = pairs.map((p) => p[0]);
  const cols = pairs.map((p) => p[1]);
  return { rows, cols, total: sumOf(cost, rows, cols) };
}

function sumOf(cost: CostMatrix, rows: number[], cols: number[]): number {
  let s = 0;
  for (let k = 0; k < rows.length; k++) s += cost[rows[k]!]![cols[k]!]!;
  return s;
}

/** Column given to each of n rows (n <= m), minimising the total of `c(row, col)`. */
function solve(n: number, m: number, c: (i: number, j: number) => number): number[] {
  // 1-based arrays; index 0 is the virtual column the augmenting path starts from.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const rowOfCol = new Int32Array(m + 1); // 0 = free
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    rowOfCol[0] = i;
    let j0 = 0;
    minv.fill(Number.POSITIVE_INFINITY);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOfCol[j0]!;
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const reduced = c(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (reduced < minv[j]!) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[rowOfCol[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (rowOfCol[j0] !== 0);
    // Flip the alternating path back to the start.
    do {
      const j1 = way[j0]!;
      rowOfCol[j0] = rowOfCol[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const colOfRow = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if (rowOfCol[j]! > 0) colOfRow[rowOfCol[j]! - 1] = j - 1;
  return colOfRow;
}
