/**
 * One end-offset check serves every caller waiting at the same time, yet no caller is ever
 * answered by a check that started before it called (DESIGN §2: the control topic is read to
 * its end before a batch is gated, exactly). A caller arriving while a check is in flight joins
 * the next one, which starts when the in-flight one settles; everyone arriving before that next
 * one starts shares it. So at most one check is in flight, and a caller waits for at most two.
 * Ordering is by call, not by clock: "started" is a state, not a timestamp.
 */

export class FreshCheck<T> {
  private running: Promise<T> | undefined;
  private queued: Promise<T> | undefined;
  /** checks started so far */
  runs = 0;

  constructor(private readonly run: () => Promise<T>) {}

  /** The result of a check that started after this call. */
  after(): Promise<T> {
    if (this.queued) return this.queued;
    const running = this.running;
    if (!running) return this.start();
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    const queued = settled.then(() => {
      this.queued = undefined;
      return this.start();
    });
    this.queued = queued;
    return queued;
  }

  private start(): Promise<T> {
    this.runs++;
    let check: Promise<T>;
    try {
      check = this.run();
    } catch (error) {
      check = Promise.reject(error);
    }
    this.running = check;
    const clear = (): void => {
      if (this.running === check) this.running = undefined;
    };
    check.then(clear, clear);
    return check;
  }
}
