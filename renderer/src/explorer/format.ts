/** 1,234 → "1.2K", 25,636,712 → "25.6M"; small numbers stay exact. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}K`;
  return n.toLocaleString('en-US');
}

/** [56, 56, 64] → "56×56×64"; [1000] → "1000". */
export function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

/** Exact integer with thousands separators, as the lecture writes them (73,728). */
export function formatExact(n: number): string {
  return n.toLocaleString('en-US');
}
