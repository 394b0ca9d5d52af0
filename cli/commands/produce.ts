import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { loadConfig } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { Keyring } from '../../core/keys/keyring.js';
import { EventProducer } from '../../producers/event-producer.js';
import { ControlReader } from '../../processors/control/control-reader.js';
import { EventCodec } from '../../schemas/codec.js';
import { checkFile, produceFile } from '../../producers/ndjson/produce-file.js';

/** Above this many events a progress bar is worth showing even when stderr is not a terminal. */
const PROGRESS_MIN_EVENTS = 10_000;

export function registerProduceCommand(program: Command): void {
  program
    .command('produce')
    .description('validate every line of an NDJSON file of events, then write them all to Kafka (nothing is written if a line is bad)')
    .argument('<file>', 'one JSON event per line (blank lines are skipped)')
    .action(async (file: string) => {
      const config = loadConfig();
      const maxSkewMs = config.maxClockSkewSeconds * 1000;
      const check = await checkFile(file, maxSkewMs);
      if (check.problems.length > 0) {
        process.stderr.write(`${check.problems.join('\n')}\n`);
        process.stderr.write(`${check.problems.length} bad line(s) in ${file}: nothing written\n`);
        process.exitCode = 1;
        return;
      }

      const topics = topicsFor(config);
      const kafka = createKafka(config);
      // Email events are sealed with their org's data key (created when the org has none).
      const keys = new Keyring({ kafka, topic: topics.keys, masterKeys: config.masterKeys, groupPrefix: `${config.topicPrefix}.produce` });
      // A purged org (not enabled again) gets no new key: its events are refused, not written.
      const control = new ControlReader({
        kafka,
        topic: topics.control,
        groupPrefix: `${config.topicPrefix}.produce`,
        codec: new EventCodec(),
        keys,
        suppressionSecret: config.suppressionSecret,
      });
      const mayCreateKey = async (orgId: string): Promise<boolean> => {
        await control.caughtUp();
        const state = control.orgState(orgId);
        return !(state.purgedAt !== null && !state.enabled);
      };
      const producer = new EventProducer(kafka, topics, { lingerMs: 5, maxBatch: 5000, keys, suppressionSecret: config.suppressionSecret, mayCreateKey });
      const showBar = check.events > 0 && (process.stderr.isTTY === true || check.events > PROGRESS_MIN_EVENTS);
      const bar = showBar
        ? new SingleBar({ stream: process.stderr, format: 'producing [{bar}] {value}/{total} events {percentage}% ETA {eta}s', noTTYOutput: true, notTTYSchedule: 2000 })
        : undefined;
      await Promise.all([producer.connect(), keys.start(), control.start()]);
      try {
        bar?.start(check.events, 0);
        const summary = await produceFile(file, producer, { onProgress: (n) => bar?.update(n), maxSkewMs });
        await producer.flush();
        bar?.stop();
        const used = [summary.control > 0 ? topics.control : undefined, summary.email > 0 ? topics.emails : undefined].filter(Boolean);
        process.stdout.write(
          summary.written === 0
            ? `${file} holds no event: nothing written\n`
            : `wrote ${summary.written} events (${summary.control} control, ${summary.email} email) to ${used.join(', ')}\n`,
        );
      } finally {
        bar?.stop();
        await producer.disconnect();
        await keys.stop();
        await control.stop();
      }
    });
}
