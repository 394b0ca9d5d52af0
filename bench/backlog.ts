import { createKafka } from '../core/kafka.js';
import type { Config } from '../core/config.js';
import { topicsFor } from '../core/topics.js';
import { createTopics } from './env.js';
import { produceRaw, topicEnds } from './kafka-io.js';
import { progress } from './progress.js';
import type { BenchContext } from './types.js';
import { generateBenchWorkload } from './workload.js';

/** Generates the workload and produces it (control first, then the emails backlog). */
export async function prepareBacklog(config: Config, events: number, smoke: boolean): Promise<BenchContext> {
  const t0 = Date.now();
  const workload = generateBenchWorkload({ events });
  progress(`workload: ${workload.emails.length} email records, ${workload.control.length} control, ${workload.orgIds.length} orgs generated in ${Date.now() - t0} ms`);
  await createTopics(config);
  const kafka = createKafka(config);
  const topics = topicsFor(config);
  await produceRaw(kafka, topics.control, workload.control);
  const t1 = Date.now();
  let shown = 0;
  await produceRaw(kafka, topics.emails, workload.emails, (done) => {
    if (done - shown >= 200_000) {
      shown = done;
      progress(`produce: ${done}/${workload.emails.length}`);
    }
  });
  const { total } = await topicEnds(kafka, topics.emails);
  progress(`produce: ${total} records on ${topics.emails} in ${Date.now() - t1} ms`);
  if (total !== workload.emails.length) throw new Error(`backlog has ${total} records, produced ${workload.emails.length}`);
  return { config, kafka, workload, backlog: total, smoke, sinks: [] };
}
