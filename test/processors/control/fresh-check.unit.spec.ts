import { describe, expect, it } from 'vitest';
import { FreshCheck } from '../../../processors/control/fresh-check.js';
import { seededRandom } from '../../../core/seeded-random.js';

/** A check whose runs the test settles by hand; each run answers its own start number. */
function manual(): { check: FreshCheck<number>; settle: (fail?: boolean) => Promise<void>; started: () => number } {
  const pending: Array<{ n: number; resolve: (n: number) => void; reject: (e: Error) => void }> = [];
  let started = 0;
  const check = new FreshCheck<number>(
    () =>
      new Promise<number>((resolve, reject) => {
        started++;
        pending.push({ n: started, resolve, reject });
      }),
  );
  const settle = async (fail = false): Promise<void> => {
    const run = pending.shift();
    if (!run) throw new Error('no run in flight');
    if (fail) run.reject(new Error(`run ${run.n} failed`));
    else run.resolve(run.n);
    for (let i = 0; i < 5; i++) await Promise.resolve(); // let the next run start
  };
  return { check, settle, started: () => started };
}

describe('FreshCheck: the control barrier never answers with a check that started before the call', () => {
  it('given nothing in flight, when a batch asks, then a check starts at once', async () => {
    const { check, settle, started } = manual();
    const answer = check.after();
    expect(started()).toBe(1);
    await settle();
    await expect(answer).resolves.toBe(1);
  });

  it('given a check in flight, when batches ask, then they share ONE next check that starts after it settles', async () => {
    const { check, settle, started } = manual();
    const first = check.after();
    const late = [check.after(), check.after(), check.after()];
    expect(started()).toBe(1); // nothing new while the first runs
    await settle();
    await expect(first).resolves.toBe(1);
    expect(started()).toBe(2);
    await settle();
    await expect(Promise.all(late)).resolves.toEqual([2, 2, 2]);
    expect(check.runs).toBe(2);
  });

  it('given a failed check, then its callers see the failure and the next caller starts a new one', async () => {
    const { check, settle } = manual();
    const failing = check.after();
    failing.catch(() => undefined);
    const queued = check.after();
    await settle(true);
    await expect(failing).rejects.toThrow('run 1 failed');
    await settle();
    await expect(queued).resolves.toBe(2);
    const again = check.after();
    await settle();
    await expect(again).resolves.toBe(3);
  });

  it('a check whose start throws rejects its caller and leaves nothing in flight', async () => {
    let calls = 0;
    const check = new FreshCheck<number>(() => {
      calls++;
      if (calls === 1) throw new Error('no admin');
      return Promise.resolve(calls);
    });
    await expect(check.after()).rejects.toThrow('no admin');
    await expect(check.after()).resolves.toBe(2);
  });

  it('under any interleaving of calls and settlements, every answer comes from a check started after the call', async () => {
    const random = seededRandom(42);
    const { check, settle, started } = manual();
    const answers: Array<Promise<void>> = [];
    let settled = 0;
    for (let step = 0; step < 500; step++) {
      if (random() < 0.75) {
        const startedBefore = started();
        answers.push(check.after().then((run) => expect(run).toBeGreaterThan(startedBefore)));
      } else if (started() > settled) {
        settled++;
        await settle();
      }
    }
    while (started() > settled) {
      settled++;
      await settle();
    }
    await Promise.all(answers);
    expect(answers.length).toBeGreaterThan(300);
    expect(check.runs).toBeLessThan(answers.length / 2); // coalesced
  });
});
