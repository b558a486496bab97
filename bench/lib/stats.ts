// The figures every bench line is made of (bench/README.md): medians with their spread, and the
// DESIGN.md ratio line `<measure> (median of N, spread netroot A–B, <peer> C–D): netroot X <unit>,
// <peer> Y <unit>, ratio R (lower|higher is better…)`. Used by bench:storm, bench:scale and bench:golden.
// NaN stands for "no figure" (a run in which no node completed has no boot time): every function
// here leaves it out, and counts only the figures it used.

const figures = (xs: readonly number[]): number[] => xs.filter((x) => !Number.isNaN(x));

export function median(values: readonly number[]): number {
  const xs = figures(values);
  if (xs.length === 0) return NaN;
  const s = xs.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function spread(values: readonly number[], f: (v: number) => string): string {
  const xs = figures(values);
  return xs.length ? `${f(Math.min(...xs))}–${f(Math.max(...xs))}` : 'none';
}

/** Nearest-rank quantile (q in (0, 1]) of unsorted values; NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  const xs = figures(values);
  if (xs.length === 0) return NaN;
  const s = xs.sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
}

export interface RatioLine {
  measure: string;
  /** The first side's name (default "netroot"; bench:golden compares netroot's clones with its installs). */
  name?: string;
  peer: string;
  netroot: readonly number[];
  other: readonly number[];
  unit: string;
  f: (v: number) => string;
  better: 'lower' | 'higher';
  /** Appended after "… is better", e.g. "target ≤ 1.0". */
  note?: string;
}

export function ratioLine(l: RatioLine): string {
  const a = median(l.netroot);
  const b = median(l.other);
  const n = Math.min(figures(l.netroot).length, figures(l.other).length);
  const me = l.name ?? 'netroot';
  return `${l.measure} (median of ${n}, spread ${me} ${spread(l.netroot, l.f)}, ${l.peer} ${spread(l.other, l.f)}): ${me} ${l.f(a)} ${l.unit}, ${l.peer} ${l.f(b)} ${l.unit}, ratio ${(a / b).toFixed(2)} (${l.better} is better${l.note ? `; ${l.note}` : ''})`;
}
