/**
 * Durations as every surface shows them — the CLI's tables and progress line, the Runs view, the
 * training, compare and LR-finder panels — so a run reads "3m 05s" everywhere.
 */

/** 4.2 → "4.2s", 125 → "2m 05s", 3725 → "1h 02m"; "—" when there is no duration (or a negative one). */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${pad(m)}m` : `${m}m ${pad(s)}s`;
}
