// Statistics shared by the benchmarks, so every figure they print uses the same rank rule.

/**
 * The nearest-rank `p`th percentile of `values` (sorted here, in any order on input): the value
 * at index ceil(p/100 · n) − 1, clamped to the array. `NaN` for no values.
 */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}
