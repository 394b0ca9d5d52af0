import { SingleBar } from 'cli-progress';
import type { ReplayProgress } from './replay-runner.js';

/** The replay progress bar on stderr: records read / to read, events/s, lag, ETA. */
export function replayProgressBar(label: string): { update: (p: ReplayProgress) => void; stop: () => void } {
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {value}/{total} records | {rate} ev/s | lag {lag} | ETA {etaText}`,
    noTTYOutput: true,
    notTTYSchedule: 2000,
    etaBuffer: 20,
  });
  let started = false;
  return {
    update: (p) => {
      const rate = Math.round(p.counters.records / Math.max(p.elapsedMs / 1000, 0.001));
      const etaText = rate > 0 ? `${Math.ceil(p.lag / rate)}s` : '?';
      if (!started) {
        bar.start(Math.max(p.total, 1), p.counters.records, { rate, lag: p.lag, etaText });
        started = true;
      }
      bar.setTotal(Math.max(p.total, 1));
      bar.update(p.counters.records, { rate, lag: p.lag, etaText });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
