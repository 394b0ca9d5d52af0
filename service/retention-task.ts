import type { Config } from '../core/config.js';
import { childLogger } from '../core/logger.js';
import { connectRetention } from '../retention/connect.js';
import { runRetention } from '../retention/run-retention.js';

const log = childLogger('retention');

/**
 * The periodic retention pass inside `engagement start`. A failed pass is logged and retried at
 * the next tick (an unfinished purge is resumed there); passes never overlap.
 */
export async function startRetentionTask(config: Config): Promise<{ stop(): Promise<void> }> {
  const { deps, close } = await connectRetention(config);
  const stopping = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  const tick = (): void => {
    running = running.then(() =>
      runRetention({ ...deps, signal: stopping.signal })
        .then((report) => {
          if (report.unfinished.length > 0) log.warn({ unfinished: report.unfinished }, 'purges left unfinished; the next pass resumes them');
        })
        .catch((error: unknown) => log.error({ err: error }, 'retention pass failed; retrying at the next tick')),
    );
  };
  const timer = setInterval(tick, config.retentionIntervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      // a pass under way waits for no lander any more, begins no other purge (the next start resumes)
      stopping.abort();
      await running;
      await close();
    },
  };
}
