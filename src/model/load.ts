/**
 * The loader: inputs (files, directories, stdin, texts) → validated,
 * defaulted IR plus expectations and every diagnostic found.
 * Never throws for bad input.
 */
import { DiagnosticBag, type Diagnostic } from '../diag/diagnostic.js';
import { parseDocuments, type RawObject } from '../parse/documents.js';
import { readInputs, type LoadInput, type SourceText } from '../parse/files.js';
import { buildCluster } from './build.js';
import type { Cluster, Expectations } from './types.js';

export type { LoadInput } from '../parse/files.js';

export interface LoadOptions {
  /** Reads stdin for the `-` input; defaults to process.stdin. */
  stdin?: () => Promise<string> | string;
}

export interface LoadResult {
  cluster: Cluster;
  expectations: Expectations[];
  diagnostics: Diagnostic[];
}

function loadTexts(texts: SourceText[], diags: DiagnosticBag): LoadResult {
  const objects: RawObject[] = [];
  for (const t of texts) objects.push(...parseDocuments(t, diags));
  const { cluster, expectations } = buildCluster(objects, diags);
  return { cluster, expectations, diagnostics: diags.items };
}

/** Loads files, directories (recursive, sorted), `-` (stdin) and in-memory texts. */
export async function loadCluster(inputs: LoadInput[], options: LoadOptions = {}): Promise<LoadResult> {
  const diags = new DiagnosticBag();
  const texts = await readInputs(inputs, options, diags);
  return loadTexts(texts, diags);
}

/** Synchronous variant for in-memory texts. */
export function loadClusterFromTexts(texts: { name: string; text: string }[]): LoadResult {
  return loadTexts(texts, new DiagnosticBag());
}
