/**
 * Deterministic compilation: the same resources in any file and document
 * order give byte-identical images (DESIGN.md §1, STYLE.md habit 7).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { compileImage } from '../../src/compile/index.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import { TupleRng } from '../oracle/tuples.js';
import { listResourceFiles } from '../../src/parse/files.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');


/** Every document of every file as its own text (positions differ, content does not). */
function documents(files: string[]): { name: string; text: string }[] {
  const docs: { name: string; text: string }[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    text.split(/^---\s*$/m).forEach((d, i) => d.trim() && docs.push({ name: `${f}#${i}`, text: d }));
  }
  return docs;
}

function shuffled<T>(a: T[], rng: TupleRng): T[] {
  const b = [...a];
  for (let i = b.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [b[i], b[j]] = [b[j]!, b[i]!];
  }
  return b;
}

function compile(docs: { name: string; text: string }[], node?: string): Uint8Array | undefined {
  const r = loadClusterFromTexts(docs);
  if (r.diagnostics.some((d) => d.severity === 'error')) return undefined;
  return compileImage(new ResolvedCluster(r.cluster, node ? { node } : {})).image;
}

const sets: { name: string; files: string[] }[] = [
  { name: 'examples/egress-allowlist', files: await listResourceFiles(join(root, 'examples/egress-allowlist')) },
  { name: 'all test/cases files that load together', files: [] },
];
for (const f of await listResourceFiles(join(root, 'test/cases'))) sets.push({ name: f.slice(root.length + 1), files: [f] });

for (const s of sets) {
  if (s.files.length === 0) continue;
  t.test(`${s.name}: permuted documents give identical bytes`, (tt) => {
    const docs = documents(s.files);
    const base = compile(docs);
    if (!base) {
      tt.fail('does not load');
      tt.end();
      return;
    }
    const rng = new TupleRng(docs.length);
    let same = 0;
    for (let k = 0; k < 4; k++) {
      const img = compile(shuffled(docs, rng));
      if (img && Buffer.compare(Buffer.from(img), Buffer.from(base)) === 0) same++;
    }
    tt.equal(same, 4, `4 permutations of ${docs.length} documents`);
    tt.end();
  });
}
