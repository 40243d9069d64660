/**
 * Size guard: every policed endpoint gets its own compiled program (as in
 * Calico, per node), so a whole-cluster image grows with endpoints × the
 * rules that apply to them — 100k rules over 100k pods would hold ~57M rule
 * entries (a try had used 7 GB after 5 minutes, far from done). Refusing early with the ways out beats
 * running out of memory after minutes.
 */
import type { ResolvedCluster } from '../resolve/index.js';

/** Default bound on `ResolvedCluster.tierListRules()` (100k rules over 1k pods: 2.5M, compiled in 12–16 s to 243 MB). */
export const DEFAULT_MAX_RULE_ENTRIES = 2 ** 24;

/** A compile refused by a size limit, or a limit set wrongly (the CLI prints the message, exit 2). */
export class CompileLimitError extends Error {
  override name = 'CompileLimitError';
}

export class ImageTooLargeError extends CompileLimitError {
  override name = 'ImageTooLargeError';
  readonly code = 'IMAGE_TOO_LARGE';
  constructor(
    readonly ruleEntries: number,
    readonly limit: number,
  ) {
    super(
      `the image would hold about ${ruleEntries.toLocaleString('en-US')} rule entries in per-endpoint tier lists ` +
        `(limit ${limit.toLocaleString('en-US')}): every policed endpoint gets its own program, as in Calico. ` +
        `Compile one node's data path with --node NAME, classify with --scope traffic (only the endpoints the tuples meet), ` +
        `or raise the limit with NETVERDICT_MAX_RULE_ENTRIES=N (time and memory grow with it: 2.5M entries take 12–16 s and a 243 MB image)`,
    );
  }
}

/** The limit: NETVERDICT_MAX_RULE_ENTRIES when set to a positive integer, else the default. */
export function maxRuleEntries(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.NETVERDICT_MAX_RULE_ENTRIES;
  if (v === undefined || v === '') return DEFAULT_MAX_RULE_ENTRIES;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new CompileLimitError(`NETVERDICT_MAX_RULE_ENTRIES must be a positive integer (got "${v}")`);
  return n;
}

/** Throws ImageTooLargeError when the model's tier lists exceed the limit. */
export function checkImageSize(model: ResolvedCluster, limit = maxRuleEntries()): void {
  const entries = model.tierListRules();
  if (entries > limit) throw new ImageTooLargeError(entries, limit);
}
