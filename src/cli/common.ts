/** Shared CLI plumbing: loading with diagnostics, exit codes, option parsing. */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, InputError, type Diagnostic } from '../diag/diagnostic.js';
import { load, type Loaded } from '../api.js';
import type { ResolveOptions, TrafficKey } from '../resolve/options.js';
import { ENTRY_ERROR, readTupleBatches } from '../io/columns.js';

/** Exit codes: 0 ok, 1 expectation failed, 2 input or usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_INPUT = 2;

export class CliExit extends Error {
  constructor(readonly exitCode: number, message = '') {
    super(message);
  }
}

export function printDiagnostics(diags: Diagnostic[], verbose = false): void {
  const errors = diags.filter((d) => d.severity === 'error');
  const warnings = diags.filter((d) => d.severity === 'warning');
  for (const d of errors) process.stderr.write(formatDiagnostic(d) + '\n');
  if (warnings.length === 0) return;
  if (verbose || warnings.length <= 5) {
    for (const d of warnings) process.stderr.write(formatDiagnostic(d) + '\n');
  } else {
    for (const d of warnings.slice(0, 3)) process.stderr.write(formatDiagnostic(d) + '\n');
    process.stderr.write(`... and ${warnings.length - 3} more warnings (use --verbose to see all)\n`);
  }
}

export async function loadOrExit(paths: string[], verbose = false, quiet = false): Promise<Loaded> {
  try {
    const loaded = await load(paths);
    if (!quiet) printDiagnostics(loaded.warnings, verbose);
    return loaded;
  } catch (e) {
    if (e instanceof InputError) {
      printDiagnostics(e.diagnostics, verbose);
      const n = e.diagnostics.filter((d) => d.severity === 'error').length;
      throw new CliExit(EXIT_INPUT, `${n} error${n === 1 ? '' : 's'} in input; nothing was evaluated`);
    }
    throw e;
  }
}

export interface DataPathFlags {
  node?: string;
  endpointToHost?: string;
}

export function resolveOptions(flags: DataPathFlags): ResolveOptions {
  const opts: ResolveOptions = {};
  if (flags.node) opts.node = flags.node;
  if (flags.endpointToHost) {
    const v = flags.endpointToHost.toLowerCase();
    const map: Record<string, ResolveOptions['endpointToHostAction']> = { drop: 'Drop', accept: 'Accept', return: 'Return' };
    const action = map[v];
    if (!action) throw new CliExit(EXIT_INPUT, `--endpoint-to-host must be Drop, Accept or Return (got "${flags.endpointToHost}")`);
    opts.endpointToHostAction = action;
  }
  return opts;
}

/** The package root (where examples/ lives), from dist/cli or src/cli alike. */
export function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

export const DATA_PATH_HELP = `
Data-path model (Calico v3.30–v3.32 semantics; see docs/SEMANTICS-CHOICES.md):
  --node NAME      police only endpoints on NAME (one node's data path);
                   default: every endpoint in the cluster is policed.
  Service DNAT happens before policy; a service with no ready endpoint denies.
  Several backends: one is chosen by a hash of the tuple (FNV-1a).
  Policy tie-break: order, then "name/namespace/kind" (v3.32).
  Numeric ports need protocol TCP/UDP/SCTP; named ports may omit it (v3.30+).
  Pass in a profile = deny (eBPF). Staged policies are loaded, never enforced.
  A policy naming an undefined tier is an input error.`;

/** The distinct (src, dst, proto, dport) of a tuple file, for a traffic scope (bad lines are skipped here: the classifying pass reports them). */
export async function trafficOf(file: string): Promise<TrafficKey[]> {
  const keys = new Map<string, TrafficKey>();
  let input: Readable;
  try {
    input = createReadStream(file);
    await new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', reject);
    });
  } catch (e) {
    throw new CliExit(EXIT_INPUT, `cannot read tuples: ${(e as Error).message}`);
  }
  // Column batches (no Tuple per line): a key from the words, a TrafficKey per new one.
  for await (const b of readTupleBatches(input, { file })) {
    for (let i = 0; i < b.n; i++) {
      const fam = b.kind[i]!;
      if (fam === ENTRY_ERROR) continue;
      const w = 4 * i;
      const k =
        fam === 4
          ? `4|${b.src[w]}|${b.dst[w]}|${b.proto[i]}|${b.dport[i]}`
          : `6|${b.src[w]},${b.src[w + 1]},${b.src[w + 2]},${b.src[w + 3]}|${b.dst[w]},${b.dst[w + 1]},${b.dst[w + 2]},${b.dst[w + 3]}|${b.proto[i]}|${b.dport[i]}`;
      if (keys.has(k)) continue;
      const t = b.tuple(i);
      keys.set(k, { src: t.src, dst: t.dst, proto: t.proto, dport: t.dport });
    }
  }
  return [...keys.values()];
}
