/**
 * Input sources: files, directories (recursive, sorted), stdin (`-`) and
 * in-memory texts. Problems (missing path, unreadable file) become
 * diagnostics; nothing here throws for bad input.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DiagnosticBag } from '../diag/diagnostic.js';

/** A path (file or directory), `-` for stdin, or an in-memory text. */
export type LoadInput = string | { name: string; text: string };

export interface SourceText {
  /** File name as given by the user (`<stdin>` for stdin). */
  name: string;
  text: string;
}

export interface ReadOptions {
  /** Reads stdin; defaults to reading process.stdin to the end. */
  stdin?: () => Promise<string> | string;
}

const RESOURCE_EXT = /\.(ya?ml|json)$/i;

export const STDIN_NAME = '<stdin>';

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Collects resource files under `dir`, recursively, sorted by path (code-unit order). */
async function walkDir(dir: string, out: string[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name.startsWith('.')) continue; // .git and friends
      await walkDir(p, out);
    } else if ((e.isFile() || e.isSymbolicLink()) && RESOURCE_EXT.test(e.name)) {
      out.push(p);
    }
  }
}

/** Every resource file (`*.yaml`, `*.yml`, `*.json`) under `dir`, recursively, in the order the loader reads them. */
export async function listResourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  await walkDir(dir, out);
  return out;
}

/**
 * Reads every input into memory, in the order given (directory contents in
 * sorted path order). Missing or unreadable paths are reported as `NV-INPUT`
 * errors and skipped.
 */
export async function readInputs(inputs: LoadInput[], options: ReadOptions, diags: DiagnosticBag): Promise<SourceText[]> {
  const out: SourceText[] = [];
  let stdinUsed = false;
  for (const input of inputs) {
    if (typeof input !== 'string') {
      out.push({ name: input.name, text: input.text });
      continue;
    }
    if (input === '-') {
      if (stdinUsed) {
        diags.error('NV-INPUT', 'stdin (-) given more than once', { file: STDIN_NAME });
        continue;
      }
      stdinUsed = true;
      try {
        const text = await (options.stdin ? options.stdin() : readProcessStdin());
        out.push({ name: STDIN_NAME, text });
      } catch (e) {
        diags.error('NV-INPUT', `cannot read stdin: ${(e as Error).message}`, { file: STDIN_NAME });
      }
      continue;
    }
    let stat;
    try {
      stat = await fs.stat(input);
    } catch {
      diags.error('NV-INPUT', `no such file or directory: ${input}`, { file: input });
      continue;
    }
    const files: string[] = [];
    if (stat.isDirectory()) {
      try {
        await walkDir(input, files);
      } catch (e) {
        diags.error('NV-INPUT', `cannot read directory ${input}: ${(e as Error).message}`, { file: input });
        continue;
      }
      if (files.length === 0) diags.warning('NV-INPUT', `directory ${input} contains no .yaml, .yml or .json files`, { file: input });
    } else {
      files.push(input);
    }
    for (const f of files) {
      try {
        out.push({ name: f, text: await fs.readFile(f, 'utf8') });
      } catch (e) {
        diags.error('NV-INPUT', `cannot read ${f}: ${(e as Error).message}`, { file: f });
      }
    }
  }
  return out;
}
