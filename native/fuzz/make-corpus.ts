/**
 * Seed corpus for native/fuzz/fuzz_image: real images compiled from
 * examples/egress-allowlist and every test/cases/**\/*.yaml (whole cluster,
 * each node an Expectations document names, and the three
 * endpointToHostAction settings for the example), plus the pinned transit-only
 * ACL fixture native/test/fixtures/transit.nvt, written as
 * <OUT_DIR>/<name>.nvt. Generated at test time so no binary is committed.
 *
 *   npx tsx native/fuzz/make-corpus.ts [OUT_DIR]     (default build/fuzz-corpus)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileCluster } from '../../src/compile/index.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import type { ResolveOptions } from '../../src/resolve/index.js';
import { listResourceFiles } from '../../src/parse/files.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const out = process.argv[2] ?? join(root, 'build/fuzz-corpus');


interface Source {
  name: string;
  files: string[];
  variants: ResolveOptions[];
}

const sources: Source[] = [
  {
    name: 'examples-egress-allowlist',
    files: await listResourceFiles(join(root, 'examples/egress-allowlist')),
    variants: [{}, { endpointToHostAction: 'Accept' }, { endpointToHostAction: 'Return' }, { failsafeInbound: [], failsafeOutbound: [] }],
  },
];
for (const f of await listResourceFiles(join(root, 'test/cases'))) {
  sources.push({ name: relative(root, f).replace(/\.ya?ml$/, '').replace(/[^A-Za-z0-9]+/g, '-'), files: [f], variants: [{}] });
}

mkdirSync(out, { recursive: true });
let written = 0;
let bytes = 0;
const failed: string[] = [];
for (const s of sources) {
  const texts = s.files.map((f) => ({ name: f, text: readFileSync(f, 'utf8') }));
  let loaded;
  try {
    loaded = loadClusterFromTexts(texts);
  } catch (e) {
    failed.push(`${s.name}: ${(e as Error).message}`);
    continue;
  }
  const variants = [...s.variants];
  const nodes = new Set(loaded.expectations.map((e) => e.node).filter((n): n is string => !!n));
  for (const node of [...nodes].sort()) variants.push({ node });
  variants.forEach((opts, i) => {
    try {
      const { image } = compileCluster(loaded.cluster, opts);
      const file = join(out, `${s.name}${i === 0 ? '' : `.${i}`}.nvt`);
      writeFileSync(file, image);
      written++;
      bytes += image.length;
    } catch (e) {
      failed.push(`${s.name} ${JSON.stringify(opts)}: ${(e as Error).message}`);
    }
  });
}
// The pinned transit-only ACL fixture (a random ClassBench-style set): the fast transit path.
{
  const fixture = readFileSync(join(root, 'native/test/fixtures/transit.nvt'));
  writeFileSync(join(out, 'fixture-transit.nvt'), fixture);
  written++;
  bytes += fixture.length;
}
console.log(`make-corpus: ${written} images, ${bytes} bytes in ${relative(process.cwd(), out) || '.'}`);
for (const f of failed) console.log(`make-corpus: skipped ${f}`);
if (written === 0) process.exit(1);
