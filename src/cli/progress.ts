/**
 * Progress of long commands and their interruption. A bar (cli-progress) on
 * stderr when stderr is a terminal, nothing otherwise (pipes and CI logs stay
 * clean). Ctrl-C asks the command to stop at its next batch boundary, so what
 * was classified is written out before it exits 130; a second Ctrl-C exits
 * at once.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** `done` of `total` (bytes when the total is a file size), `count` items so far. */
  update(done: number, count: number): void;
  stop(): void;
}

const QUIET: Progress = { update() {}, stop() {} };

/** A bar over `total` units labelled with `unit` counts (e.g. "tuples"), or a no-op off a terminal. */
export function createProgress(total: number, unit: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total <= 0) return QUIET;
  const started = Date.now();
  const bar = new SingleBar(
    {
      stream,
      format: ` {bar} {percentage}% | {count} ${unit} | {rate}/s | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    undefined,
  );
  bar.start(total, 0, { count: '0', rate: '0' });
  return {
    update(done, count) {
      const s = (Date.now() - started) / 1000;
      bar.update(Math.min(done, total), { count: count.toLocaleString('en-US'), rate: s > 0 ? Math.round(count / s).toLocaleString('en-US') : '0' });
    },
    stop() {
      bar.stop();
    },
  };
}

/**
 * Runs `work` with Ctrl-C turned into a request: `stopped()` becomes true and
 * the command ends at its next safe point; a second Ctrl-C exits with 130.
 */
export async function interruptible<T>(work: (stopped: () => boolean) => Promise<T>): Promise<T> {
  let requested = false;
  const onSigint = (): void => {
    if (requested) process.exit(130);
    requested = true;
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(() => requested);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
