/**
 * Groups calls made in the same event-loop turn into one batch call: concurrent handlers that
 * each need one row claimed, one outcome recorded, one recipient read or one receipt applied
 * share a statement and a commit (one fsync) instead of paying for their own. A batch starts on
 * the next turn, so a lone call waits for nothing; at most `maxConcurrent` batches run at once
 * (bounded by the connection pool), and calls arriving meanwhile go in the next. A failed batch
 * rejects each of its calls; a caller that must isolate them retries inside `run`.
 */
export class MicroBatcher<I, O> {
  private readonly run: (items: I[]) => Promise<O[]>;
  private readonly maxSize: number;
  private readonly maxConcurrent: number;
  private readonly queue: { item: I; resolve: (value: O) => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  private active = 0;

  constructor(options: { run: (items: I[]) => Promise<O[]>; maxSize: number; maxConcurrent: number }) {
    this.run = options.run;
    this.maxSize = options.maxSize;
    this.maxConcurrent = options.maxConcurrent;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.drain();
        });
      }
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && this.active < this.maxConcurrent) {
      const batch = this.queue.splice(0, this.maxSize);
      this.active++;
      this.run(batch.map((b) => b.item))
        .then(
          (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.active--;
          this.drain();
        });
    }
  }
}
