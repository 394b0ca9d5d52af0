/**
 * At most `size` tasks at a time, the rest wait in arrival order. For work that must be bounded
 * across independent callers (e.g. every partition's blob uploads of one process), where a
 * per-caller bound multiplies with the number of callers.
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Slots needs a positive integer size, not ${size}`);
    this.free = size;
  }

  /** tasks running now */
  get busy(): number {
    return this.size - this.free;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // the slot passes straight to the next waiter, so a new arrival cannot overtake it
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
