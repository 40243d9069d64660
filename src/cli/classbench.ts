/** `netverdict classbench`: ClassBench filters → Calico resources → image; trace check and a quick figure. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { compileCluster } from '../compile/index.js';
import { ImageLoadError, NativeEngine, NativeUnavailableError, type Strategy } from '../native/index.js';
import type { Cluster } from '../model/types.js';
import { parseFilters, parseTrace, formatIssues, formatIpv4, type Filter, type Trace } from '../classbench/parse.js';
import { convertFilters, conversionYaml, DEFAULT_RULES_PER_POLICY, type Conversion } from '../classbench/convert.js';
import { conversionCluster, loadConversionYaml } from '../classbench/model.js';
import { checkNative, checkReference, LinearScan, quickThroughput, type CheckResult, type Mismatch, type Throughput } from '../classbench/check.js';
import { CliExit, EXIT_FAILED, EXIT_INPUT } from './common.js';

interface Opts {
  trace?: string;
  emit?: string;
  engine: string;
  strategy: string;
  json?: boolean;
  sample: string;
  direction: string;
  maxRules: string;
  via: string;
  bench: boolean;
  reps: string;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliExit(EXIT_INPUT, `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

function intOption(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliExit(EXIT_INPUT, `${name} must be an integer ${min}-${max} (got "${v}")`);
  return n;
}

const ms = (x: number): string => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
const num = (x: number): string => x.toLocaleString('en-US');

function describeFilter(f: Filter | undefined, n: number): string {
  if (n === 0) return 'none (end of tier: deny)';
  if (n < 0) return 'not a classbench rule';
  return f ? `filter ${n} (line ${f.line})` : `filter ${n}`;
}

function mismatchLine(m: Mismatch, filters: readonly Filter[], conv: Conversion): string {
  const tuple = `${formatIpv4(m.src)} ${formatIpv4(m.dst)} ${m.sport} ${m.dport} proto ${m.proto}`;
  const refs = m.got > 0 ? conv.rulesOf(m.got).map((r) => `${r.policy}[${r.ruleIndex}]`).join(',') : '';
  return `  trace line ${m.line}: ${tuple}: expected ${describeFilter(filters[m.expected - 1], m.expected)}, got ${describeFilter(filters[m.got - 1], m.got)}${refs ? ` = ${refs}` : ''}${m.detail ? ` — ${m.detail}` : ''}`;
}

export function registerClassbench(program: Command): void {
  program
    .command('classbench')
    .description('convert a ClassBench filter file into Calico resources, compile it, check a trace against a linear first-match scan')
    .argument('<rules>', 'ClassBench filter file (@sip/len dip/len sp : sp dp : dp 0xPP/0xMM [flags])')
    .option('-t, --trace <file>', 'ClassBench trace (src dst sport dport proto [flags] ruleId, decimal, host order)')
    .option('--emit <dir>', 'write the generated Calico YAML to <dir> (HostEndpoint + Tier, one file per policy)')
    .option('--engine <engine>', 'native (every header) or reference (the oracle evaluator, on --sample headers)', 'native')
    .option('--strategy <s>', 'native strategy: decision, linear or both (each checked and timed)', 'both')
    .option('--sample <n>', 'headers checked by the reference engine (evenly spaced)', '2000')
    .option('--direction <dir>', 'policy direction of the forward policies: egress or ingress (see below)', 'egress')
    .option('--max-rules <n>', `rules per policy before splitting (Calico allows ${DEFAULT_RULES_PER_POLICY})`, String(DEFAULT_RULES_PER_POLICY))
    .option('--via <path>', 'build the model from the resources directly (ir) or by loading the generated YAML (yaml)', 'ir')
    .option('--no-bench', 'skip the quick throughput figure')
    .option('--reps <n>', 'repetitions of the quick throughput figure (median reported)', '5')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
What it builds (as a user would write it; docs in src/classbench/convert.ts):
  - HostEndpoint classbench-all-interfaces: node classbench, interfaceName "*",
    label classbench=true, profile projectcalico-default-allow, no expectedIPs;
  - Tier classbench (order 100, defaultAction Deny);
  - GlobalNetworkPolicies classbench-0000, -0001, ... (order 0, 1, ...) in that
    tier: applyOnForward, selector classbench == 'true', one Allow rule per
    filter in file order, at most --max-rules rules each. First match across
    them is the file's first match; the end of the tier denies (no filter).
  Mapping: sip/dip -> source/destination nets (masked; none for /0); proto
  0xPP/0xFF -> protocol PP, /0x00 -> none; ports lo:hi -> ports (none for
  0:65535; lo = 0 -> notPorts hi+1:65535). Filters Calico cannot express
  exactly are listed as notes (expanded per protocol or dropped).
  Headers are transit traffic through the wildcard HEP (IPv4, addresses owned
  by no endpoint). Direction egress (default): the rule that allowed a flow is
  its deciding rule. With ingress the flow's deciding evaluation is the empty
  egress-forward one, so the native engine reports no rule for allowed flows;
  use --engine reference to check ingress.

Check: every header's engine decision (each --strategy), mapped back to a filter number, is
compared with a linear first-match scan over the parsed filters (ClassBench
semantics, as ../shared/peers/dpdk-acl/acl_bench.c). The trace's last column
is only the filter a header was generated from; how often it differs from the
true first match is reported for information.

The throughput lines are a quick single-core figure per strategy (batch 4096, verdict and
deciding rule out, warm-up, --reps repetitions of ~200 ms, median) — not the
benchmark; see bench/ and docs/BENCHMARKS.md for measured comparisons.

Exit codes: 0 no mismatch, 1 any mismatch, 2 bad input or usage.

Examples:
  netverdict classbench ../shared/classbench/wustl/acl1_1K --trace ../shared/classbench/wustl/acl1_1K_trace
  netverdict classbench fw1_10K --emit /tmp/fw1 && netverdict explain -p /tmp/fw1 ...`,
    )
    .action((rulesPath: string, opts: Opts) => {
      if (opts.engine !== 'native' && opts.engine !== 'reference') throw new CliExit(EXIT_INPUT, `--engine must be native or reference (got "${opts.engine}")`);
      if (opts.via !== 'ir' && opts.via !== 'yaml') throw new CliExit(EXIT_INPUT, `--via must be ir or yaml (got "${opts.via}")`);
      if (!['both', 'linear', 'decision'].includes(opts.strategy)) throw new CliExit(EXIT_INPUT, `--strategy must be decision, linear or both (got "${opts.strategy}")`);
      const strategies: Strategy[] = opts.strategy === 'both' ? ['decision', 'linear'] : [opts.strategy as Strategy];
      const dirOpt = opts.direction.toLowerCase();
      if (dirOpt !== 'egress' && dirOpt !== 'ingress') throw new CliExit(EXIT_INPUT, `--direction must be egress or ingress (got "${opts.direction}")`);
      const direction = dirOpt === 'egress' ? 'Egress' : 'Ingress';
      const sample = intOption(opts.sample, '--sample', 1, 1e9);
      const maxRules = intOption(opts.maxRules, '--max-rules', 1, DEFAULT_RULES_PER_POLICY);
      const reps = intOption(opts.reps, '--reps', 1, 101);
      const out: string[] = [];
      const say = (s: string): void => {
        if (!opts.json) out.push(s);
      };
      const flush = (): void => {
        if (out.length) process.stdout.write(out.join('\n') + '\n');
        out.length = 0;
      };

      // 1. Parse.
      const rulesName = basename(rulesPath);
      let t0 = performance.now();
      const pf = parseFilters(readText(rulesPath, 'filter file'), rulesPath);
      const parseMs = performance.now() - t0;
      if (pf.issues.length) {
        process.stderr.write(formatIssues(pf.issues) + '\n');
        throw new CliExit(EXIT_INPUT, `${pf.issues.length} malformed filter line${pf.issues.length === 1 ? '' : 's'} in ${rulesPath}`);
      }
      const filters = pf.filters;
      if (filters.length === 0) throw new CliExit(EXIT_INPUT, `${rulesPath}: no filters`);
      let trace: Trace | undefined;
      let traceParseMs = 0;
      if (opts.trace) {
        t0 = performance.now();
        const pt = parseTrace(readText(opts.trace, 'trace'), opts.trace);
        traceParseMs = performance.now() - t0;
        if (pt.issues.length) {
          process.stderr.write(formatIssues(pt.issues) + '\n');
          throw new CliExit(EXIT_INPUT, `${pt.issues.length} malformed trace line${pt.issues.length === 1 ? '' : 's'} in ${opts.trace}`);
        }
        trace = pt.trace;
        if (trace.length === 0) throw new CliExit(EXIT_INPUT, `${opts.trace}: no headers`);
      }
      say(`ClassBench ${rulesPath}: ${num(filters.length)} filters (parsed in ${ms(parseMs)})`);

      // 2. Convert, build the model.
      t0 = performance.now();
      const conv = convertFilters(filters, { maxRulesPerPolicy: maxRules, direction, source: rulesName });
      const convertMs = performance.now() - t0;
      let yamlFiles: ReturnType<typeof conversionYaml> | undefined;
      let yamlMs = 0;
      if (opts.emit || opts.via === 'yaml') {
        t0 = performance.now();
        yamlFiles = conversionYaml(conv, filters, rulesName);
        yamlMs = performance.now() - t0;
      }
      t0 = performance.now();
      let cluster: Cluster;
      if (opts.via === 'yaml') cluster = loadConversionYaml(yamlFiles!, opts.emit ?? 'classbench').cluster;
      else cluster = conversionCluster(conv, filters, rulesPath).cluster;
      const modelMs = performance.now() - t0;
      const pols = conv.summaries;
      say(
        `conversion: ${num(conv.rules.length)} Calico rules in ${pols.length} ${pols.length === 1 ? 'policy' : 'policies'} (${pols[0]!.name}${pols.length > 1 ? ` .. ${pols[pols.length - 1]!.name}` : ''}), tier ${conv.tier}, ${conv.direction} forward policy on wildcard HEP ${conv.hostEndpointName}; convert ${ms(convertMs)}, model via ${opts.via} ${ms(modelMs)}`,
      );
      if (conv.maskedFilters) say(`  ${conv.maskedFilters} filter(s) had host bits set in an address; written masked (Calico rejects unmasked CIDRs)`);
      if (conv.notes.length) {
        say(`  ${conv.notes.length} filter(s) not expressible exactly in Calico:`);
        for (const n of conv.notes.slice(0, 10)) say(`    filter ${n.filter} (line ${n.line}): ${n.kind}: ${n.message}`);
        if (conv.notes.length > 10) say(`    ... and ${conv.notes.length - 10} more`);
      } else say('  every filter is expressed exactly (one rule each)');

      if (opts.emit && yamlFiles) {
        try {
          mkdirSync(opts.emit, { recursive: true });
          for (const f of yamlFiles) writeFileSync(join(opts.emit, f.name), f.text);
        } catch (e) {
          throw new CliExit(EXIT_INPUT, `cannot write to ${opts.emit}: ${(e as Error).message}`);
        }
        say(`emitted ${yamlFiles.length} YAML files to ${opts.emit} (${ms(yamlMs)}); use with netverdict classify/explain/compile -p ${opts.emit}`);
      }

      // 3. Compile.
      t0 = performance.now();
      const compiled = compileCluster(cluster);
      const compileMs = performance.now() - t0;
      const st = compiled.stats;
      say(
        `compile: ${ms(compileMs)}, image ${num(compiled.image.length)} bytes (${num(st.rules)} rule entries, ${num(st.addrSets)} address sets, ${num(st.identities)} identities, ${num(st.v4Intervals)} IPv4 intervals)`,
      );

      // 4. Engine, check, throughput.
      let engine: NativeEngine | undefined;
      let fallback: string | undefined;
      if (opts.engine === 'native') {
        try {
          engine = NativeEngine.fromImage(compiled.image);
        } catch (e) {
          if (!(e instanceof NativeUnavailableError || e instanceof ImageLoadError)) throw e;
          fallback = `native engine not usable (${e instanceof ImageLoadError ? `${e.code}: ` : ''}${e.message})`;
          say(`${fallback}; falling back to the reference evaluator on a sample of ${num(sample)} headers`);
        }
      }
      const engineInfo = engine?.info();
      if (engineInfo) {
        const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
        const path = !engineInfo.fastTransit
          ? 'general path'
          : engineInfo.rfcCount > 0
            ? 'fast transit path, RFC tables'
            : `fast transit path, decision trees (${engineInfo.simdForm === 'avx512' ? 'AVX-512' : engineInfo.simdForm === 'avx2' ? 'AVX2' : 'scalar'})`;
        say(
          `engine: ${mib(engineInfo.memoryBytes)} MiB loaded; ${num(engineInfo.rfcCount)} block(s) with RFC tables (${mib(engineInfo.rfcBytes)} MiB), ${num(engineInfo.treeCount)} with decision trees (${mib(engineInfo.treeBytes)} MiB); decision batches take the ${path}`,
        );
      }
      const checks: CheckResult[] = [];
      const throughputs: Throughput[] = [];
      if (trace) {
        say(`trace ${opts.trace}: ${num(trace.length)} headers (parsed in ${ms(traceParseMs)})`);
        if (direction === 'Ingress' && engine) {
          say('  note: with --direction ingress the native engine reports no rule for allowed transit flows (see --help); expect mismatches');
        }
        const report = (check: CheckResult): void => {
          checks.push(check);
          const scope = check.checked === trace!.length ? `all ${num(check.checked)} headers` : `a sample of ${num(check.checked)} headers`;
          const who = check.engine === 'native' ? `native engine, ${check.strategy} strategy` : 'reference evaluator';
          say(`check (${who}, ${scope}, vs a linear first-match scan): ${num(check.mismatches)} mismatch${check.mismatches === 1 ? '' : 'es'}`);
          for (const m of check.firstMismatches) say(mismatchLine(m, filters, conv));
          if (check.mismatches > check.firstMismatches.length) say(`  ... and ${num(check.mismatches - check.firstMismatches.length)} more`);
          say(
            `  trace id differs from the true first match: ${num(check.traceIdDiffers)} of ${num(check.checked)} (informational); headers no filter matches: ${num(check.noMatch)}`,
          );
          const visited = check.meanRulesVisited !== undefined ? `, ${check.meanRulesVisited.toFixed(1)} rules visited per header on average` : '';
          say(`  engine ${ms(check.engineMs)}${check.linearMs ? `, linear scan ${ms(check.linearMs)}` : ''}${visited}`);
        };
        if (engine) {
          t0 = performance.now();
          const expected = new LinearScan(filters).matchTrace(trace);
          const scanMs = performance.now() - t0;
          strategies.forEach((s, i) => {
            const c = checkNative(engine, conv, filters, trace!, s, expected);
            if (i === 0) c.linearMs = scanMs;
            report(c);
          });
        } else report(checkReference(cluster, conv, filters, trace, sample));
        if (engine && opts.bench) {
          for (const s of strategies) {
            flush();
            const tp = quickThroughput(engine, trace, { repetitions: reps, strategy: s });
            throughputs.push(tp);
            say(
              `quick throughput, ${s} (NOT the benchmark: one core, batch ${tp.batch}, ${tp.repetitions} reps of ${num(tp.tuplesPerRep)} tuples after warm-up, median): ` +
                `${(tp.tuplesPerSecond / 1e6).toFixed(3)} Mtuples/s, ${tp.nsPerTuple.toFixed(1)} ns/tuple (range ${(tp.minTuplesPerSecond / 1e6).toFixed(3)}-${(tp.maxTuplesPerSecond / 1e6).toFixed(3)} Mtuples/s)`,
            );
          }
        }
      }

      if (opts.json) {
        const report = {
          rules: rulesPath,
          filters: filters.length,
          calicoRules: conv.rules.length,
          direction: conv.direction,
          tier: conv.tier,
          policies: conv.summaries,
          notes: conv.notes,
          maskedFilters: conv.maskedFilters,
          via: opts.via,
          timingsMs: { parse: parseMs, convert: convertMs, model: modelMs, yaml: yamlMs, compile: compileMs, traceParse: traceParseMs },
          image: { bytes: compiled.image.length, stats: st },
          engine: engineInfo ? { memoryBytes: engineInfo.memoryBytes, rfcCount: engineInfo.rfcCount, rfcBytes: engineInfo.rfcBytes, treeCount: engineInfo.treeCount, treeBytes: engineInfo.treeBytes, fastTransit: engineInfo.fastTransit, simd: engineInfo.simd, simdForm: engineInfo.simdForm } : undefined,
          emitted: opts.emit ? { dir: opts.emit, files: yamlFiles!.map((f) => f.name) } : undefined,
          fallback,
          trace: trace ? { file: opts.trace, headers: trace.length } : undefined,
          checks,
          mismatches: checks.reduce((a, c) => a + c.mismatches, 0),
          quickThroughput: throughputs.length ? { note: 'quick figure, not the benchmark', figures: throughputs } : undefined,
        };
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      }
      flush();
      if (checks.some((c) => c.mismatches > 0)) process.exitCode = EXIT_FAILED;
    });
}
