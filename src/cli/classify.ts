/** `netverdict classify`: a verdict record per input tuple, in input order. */
import { createReadStream, statSync, type ReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { formatDiagnostic, type DiagnosticBag } from '../diag/diagnostic.js';
import { createBatchEvaluator, createRecordWriter } from '../api.js';
import { ENTRY_ERROR, readTupleBatches } from '../io/columns.js';
import type { Tuple } from '../net/tuple.js';
import { csvRow, CSV_COLUMNS, flowRecord, tableRows, type FlowRecord } from '../output/records.js';
import { CliExit, DATA_PATH_HELP, EXIT_INPUT, loadOrExit, resolveOptions, trafficOf } from './common.js';
import { createProgress, interruptible } from './progress.js';

export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description('classify tuples (CSV) against policies; one record per tuple, in input order')
    .requiredOption('-p, --policies <path...>', 'resource files or directories (*.yaml, *.yml, *.json), or - for stdin')
    .requiredOption('-t, --tuples <file>', 'tuple CSV (header: any of src,dst,proto,sport,dport,icmp_type,icmp_code), or - for stdin')
    .option('-f, --format <format>', 'jsonl | csv | table (default: table on a terminal, jsonl otherwise)')
    .option('--node <name>', "police only this node's endpoints")
    .option('--scope <scope>', 'all: compile every endpoint\'s policy; traffic: only the endpoints the tuples meet (same results, for large clusters; reads the tuple file twice)', 'all')
    .option('--endpoint-to-host <action>', 'DefaultEndpointToHostAction: Drop (felix default), Accept or Return', 'Drop')
    .option('--engine <engine>', 'native (compiled tables, C++) or reference (the slow oracle evaluator)', 'native')
    .option('--strategy <strategy>', 'native engine strategy: decision (per-protocol rule lists, decision trees for ACL-like tiers) or linear (rule by rule, like Calico\'s BPF program)', 'decision')
    .option('-v, --verbose', 'print every warning')
    .addHelpText(
      'after',
      `
Output fields follow Calico flow logs: source_ip, source_port, dest_ip, dest_port,
proto, source_type/namespace/name (wep|hep|ns|net), dest_*, dest_service_*, nat,
action (allow|deny), reason, and per direction (egress = reporter src, ingress =
reporter dst) the action and the policy trace "index|tier|name|action|ruleIndex"
(ruleIndex -1 = end of tier). A malformed tuple line yields {"line": N, "error": ...}
in its place, is reported on stderr, and the exit code is 2.
${DATA_PATH_HELP}

Example:
  netverdict classify -p examples/egress-allowlist --tuples examples/egress-allowlist/flows.csv --format table`,
    )
    .action(async (opts: { policies: string[]; tuples: string; format?: string; node?: string; scope: string; endpointToHost?: string; engine: string; strategy: string; verbose?: boolean }) => {
      const format = opts.format ?? (process.stdout.isTTY ? 'table' : 'jsonl');
      if (!['jsonl', 'csv', 'table'].includes(format)) throw new CliExit(EXIT_INPUT, `--format must be jsonl, csv or table (got "${format}")`);
      if (opts.engine !== 'reference' && opts.engine !== 'native') {
        throw new CliExit(EXIT_INPUT, `--engine must be native or reference (got "${opts.engine}")`);
      }
      if (opts.policies.includes('-') && opts.tuples === '-') throw new CliExit(EXIT_INPUT, 'policies and tuples cannot both come from stdin');
      const ropts = resolveOptions(opts);
      const { cluster } = await loadOrExit(opts.policies, opts.verbose);
      if (opts.strategy !== 'linear' && opts.strategy !== 'decision') {
        throw new CliExit(EXIT_INPUT, `--strategy must be linear or decision (got "${opts.strategy}")`);
      }
      if (opts.scope !== 'all' && opts.scope !== 'traffic') throw new CliExit(EXIT_INPUT, `--scope must be all or traffic (got "${opts.scope}")`);
      if (opts.scope === 'traffic') {
        if (opts.tuples === '-') throw new CliExit(EXIT_INPUT, '--scope traffic reads the tuples twice: give a file, not stdin');
        ropts.traffic = await trafficOf(opts.tuples);
      }
      let input: Readable;
      if (opts.tuples === '-') input = process.stdin;
      else {
        input = createReadStream(opts.tuples);
        await new Promise<void>((resolve, reject) => {
          input.once('open', () => resolve());
          input.once('error', (e) => reject(new CliExit(EXIT_INPUT, `cannot read tuples: ${(e as Error).message}`)));
        });
      }
      let bad = 0;
      const out = process.stdout;
      const write = async (chunk: string | Uint8Array): Promise<void> => {
        if (chunk.length > 0 && !out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      };
      const file = opts.tuples === '-' ? '<stdin>' : opts.tuples;
      const report = (diags: DiagnosticBag): void => {
        for (const d of diags.errors) {
          bad++;
          process.stderr.write(formatDiagnostic(d) + '\n');
        }
      };
      // A bar over the tuple file's bytes on a terminal; Ctrl-C stops after the current batch.
      const total = opts.tuples === '-' ? 0 : statSync(opts.tuples).size;
      const progress = createProgress(total, 'tuples');
      let classified = 0;
      let interrupted: boolean;
      const table: FlowRecord[] = [];
      if (format === 'csv') out.write(CSV_COLUMNS.join(',') + '\n');
      if (opts.engine === 'native' && format !== 'table') {
        // Column batches straight from the file's bytes to the engine, records from shared parts.
        const writer = createRecordWriter(cluster, ropts, format as 'jsonl' | 'csv', opts.strategy);
        interrupted = await interruptible(async (stopped) => {
          for await (const batch of readTupleBatches(input, { file, onError: report })) {
            classified += batch.n;
            await write(writer.write(batch));
            progress.update((input as ReadStream).bytesRead ?? 0, classified);
            if (stopped()) return true;
          }
          return false;
        });
      } else {
        const evaluate = createBatchEvaluator(cluster, ropts, opts.engine as 'native' | 'reference', opts.strategy);
        // Tuples are classified in batches; a malformed line's error record keeps its place.
        type Item = { tuple: Tuple } | { error: string };
        let pending: Item[] = [];
        const flush = async (): Promise<void> => {
          const batch = pending.filter((x): x is { tuple: Tuple } => 'tuple' in x).map((x) => x.tuple);
          const results = evaluate(batch);
          let k = 0;
          let chunk = '';
          for (const item of pending) {
            if ('error' in item) {
              if (format === 'jsonl') chunk += item.error + '\n';
              continue;
            }
            const rec = flowRecord(results[k++]!);
            if (format === 'jsonl') chunk += JSON.stringify(rec) + '\n';
            else if (format === 'csv') chunk += csvRow(rec) + '\n';
            else table.push(rec);
          }
          pending = [];
          await write(chunk);
        };
        interrupted = await interruptible(async (stopped) => {
          // The same reader (and its guards) as above, its entries as Tuples.
          for await (const batch of readTupleBatches(input, { file, onError: report })) {
            for (let i = 0; i < batch.n; i++) pending.push(batch.kind[i] === ENTRY_ERROR ? { error: batch.errors[i]! } : { tuple: batch.tuple(i) });
            classified += batch.n;
            await flush();
            progress.update((input as ReadStream).bytesRead ?? 0, classified);
            if (stopped()) return true;
          }
          return false;
        });
      }
      progress.stop();
      if (interrupted) {
        if (format === 'table') out.write(tableRows(table).join('\n') + '\n');
        throw new CliExit(130, `interrupted: the first ${classified.toLocaleString('en-US')} records were written`);
      }
      if (format === 'table') out.write(tableRows(table).join('\n') + '\n');
      if (bad > 0) throw new CliExit(EXIT_INPUT, `${bad} malformed tuple line${bad === 1 ? '' : 's'}`);
    });
}
