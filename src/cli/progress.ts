/** A progress bar on stderr, shown only on a terminal and never in --json or --quiet mode. */

export interface ProgressReporter {
  start(total: number | undefined): void;
  update(bytes: number): void;
  done(): void;
}

export const noProgress: ProgressReporter = { start() {}, update() {}, done() {} };

export function terminalProgress(stream: NodeJS.WriteStream): ProgressReporter {
  let total: number | undefined;
  let started = 0;
  let last = 0;
  let shown = false;
  const width = 30;
  return {
    start(t) {
      total = t;
      started = Date.now();
    },
    update(bytes) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const secs = Math.max((now - started) / 1000, 0.001);
      const rate = `${(bytes / 1e6 / secs).toFixed(0)} MB/s`;
      const line = total
        ? `[${'#'.repeat(Math.round((bytes / total) * width)).padEnd(width)}] ${((bytes / total) * 100).toFixed(0).padStart(3)}% ${(bytes / 1e6).toFixed(0)}/${(total / 1e6).toFixed(0)} MB ${rate}`
        : `${(bytes / 1e6).toFixed(0)} MB ${rate}`;
      stream.write(`\r${line}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
