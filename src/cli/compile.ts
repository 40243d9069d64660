/** `netverdict compile` and `netverdict inspect`: write and examine the flat image. */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { compile } from '../api.js';
import { ImageFormatError } from '../format/image.js';
import { formatInspect, inspectImage } from '../format/inspect.js';
import { ImageLoadError, NativeEngine } from '../native/index.js';
import { CliExit, DATA_PATH_HELP, EXIT_INPUT, loadOrExit, resolveOptions, trafficOf } from './common.js';

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile resources into a versioned flat image (.nvt) for the native engine')
    .requiredOption('-p, --policies <path...>', 'resource files or directories, or - for stdin')
    .requiredOption('-o, --output <file>', 'image file to write (e.g. cluster.nvt)')
    .option('--node <name>', "compile one node's data path (only its endpoints policed)")
    .option('--traffic <file>', 'police only the endpoints the tuples of this CSV meet (as classify --scope traffic)')
    .option('--endpoint-to-host <action>', 'Drop (default), Accept or Return', 'Drop')
    .option('-v, --verbose', 'print every warning')
    .addHelpText(
      'after',
      `
The image format is specified in docs/FORMAT.md (magic NVTIMAGE, major.minor,
CRC32C, section directory). The same resources in any order give the same bytes.
${DATA_PATH_HELP}`,
    )
    .action(async (opts: { policies: string[]; output: string; node?: string; traffic?: string; endpointToHost?: string; verbose?: boolean }) => {
      const ropts = resolveOptions(opts);
      if (opts.traffic !== undefined) ropts.traffic = await trafficOf(opts.traffic);
      const { cluster } = await loadOrExit(opts.policies, opts.verbose);
      const t0 = process.hrtime.bigint();
      const { image, stats } = compile(cluster, ropts);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      try {
        writeFileSync(opts.output, image);
      } catch (e) {
        throw new CliExit(EXIT_INPUT, `cannot write ${opts.output}: ${(e as Error).message}`);
      }
      process.stderr.write(
        `wrote ${opts.output}: ${image.length} bytes, ${stats.rules} rule entries, ${stats.programs} programs, ${stats.classes} address classes, ${stats.identities} identities in ${ms.toFixed(0)} ms\n`,
      );
    });

  program
    .command('inspect')
    .description('print an image\'s header, sections, sizes and counts, and what the engine derives from it at load (verifies it first)')
    .argument('<file>', 'image file (.nvt)')
    .option('--json', 'print as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        throw new CliExit(EXIT_INPUT, `cannot read ${file}: ${(e as Error).message}`);
      }
      let summary;
      try {
        // The engine's own verification must accept it too; what it derives at load is reported.
        summary = { ...inspectImage(bytes), engine: NativeEngine.fromImage(bytes).info() };
      } catch (e) {
        if (e instanceof ImageFormatError || e instanceof ImageLoadError) {
          throw new CliExit(EXIT_INPUT, `${file}: invalid image: ${e.code}: ${e.message}`);
        }
        throw e;
      }
      if (opts.json) process.stdout.write(JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2) + '\n');
      else process.stdout.write(formatInspect(summary) + '\n');
    });
}
