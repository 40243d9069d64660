#!/usr/bin/env node
/** netverdict command line: thin wrappers around the library (src/api.ts). */
import { Command, CommanderError } from 'commander';
import { CliExit, EXIT_INPUT } from './common.js';
import { registerClassify } from './classify.js';
import { registerExplain } from './explain.js';
import { registerVerify } from './verify.js';
import { registerDemo } from './demo.js';
import { registerCompile } from './compile.js';
import { registerClassbench } from './classbench.js';
import { CompileLimitError } from '../compile/limits.js';

// A closed pipe (`netverdict classify ... | head`) ends the run quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command();
program
  .name('netverdict')
  .description(
    "Calico's network-policy data path, offline: gives each flow the verdict Calico would give, " +
      'and the tier, policy and rule that decided it.',
  )
  .addHelpText(
    'after',
    `
Start with:  netverdict demo
Exit codes:  0 success, 1 an expectation failed (verify), 2 invalid input or usage.
Docs:        README.md, docs/CLI.md, docs/SEMANTICS-CHOICES.md`,
  )
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerClassify(program);
registerExplain(program);
registerVerify(program);
registerDemo(program);
registerCompile(program);
registerClassbench(program);

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_INPUT;
    }
    if (e instanceof CliExit) {
      if (e.message) process.stderr.write(`netverdict: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof CompileLimitError) {
      process.stderr.write(`netverdict: ${e.message}\n`);
      return EXIT_INPUT;
    }
    process.stderr.write(`netverdict: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}

main().then((code) => {
  process.exitCode = code;
});
