/**
 * The single-tuple entry points (classifyV4One: five numbers through the
 * addon's no-argument fast function; classifyOne: any family) give exactly
 * what classifyBatch gives for the same tuple, for every strategy, and keep
 * working after the engine wrapper's temporaries are collected.
 */
import t from 'tap';
import { generateCluster, loadGeneratedCluster, TINY } from '../../src/gen/cluster.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import { compileImage } from '../../src/compile/index.js';
import { NativeEngine, type Strategy } from '../../src/native/index.js';
import { tupleArrays } from '../../src/output/native.js';
import { generateTuples } from '../oracle/tuples.js';
import { allOutputs } from '../oracle/compare.js';

for (const seed of [1, 2, 3]) {
  const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(seed, TINY)).cluster);
  const image = compileImage(model).image;
  const tuples = generateTuples(seed, model, 6000);
  for (const strategy of ['linear', 'decision', 'decision-bitmaps'] as const satisfies readonly Strategy[]) {
    t.test(`seed ${seed} ${strategy}: classifyV4One and classifyOne == classifyBatch`, async (t) => {
      const engine = NativeEngine.fromImage(image, { strategy });
      let checked = 0;
      let differ = 0;
      for (const family of [4, 6] as const) {
        const list = tuples.filter((x) => x.src.family === family);
        const a = tupleArrays(family, list);
        const n = list.length;
        const out = allOutputs(n);
        engine.classifyBatch(family, a.src, a.dst, a.sport, a.dport, a.proto, out, strategy);
        const w = family === 4 ? 1 : 4;
        for (let i = 0; i < n; i++) {
          const want = [out.verdict[i], out.reason[i], out.egressRule[i], out.ingressRule[i], out.decidingRule[i], out.evalReasons[i], out.natBackend[i], out.rulesVisited[i]];
          const src = [...a.src.subarray(i * w, i * w + w)];
          const dst = [...a.dst.subarray(i * w, i * w + w)];
          const one = [...engine.classifyOne(family, src, dst, a.proto[i]!, a.sport[i]!, a.dport[i]!)];
          if (JSON.stringify(one) !== JSON.stringify(want)) differ++;
          if (family === 4) {
            const v = engine.classifyV4One(src[0]!, dst[0]!, a.proto[i]!, a.sport[i]!, a.dport[i]!);
            const got = [...engine.result];
            if (v !== (want[0] === 1) || JSON.stringify(got) !== JSON.stringify(want)) differ++;
          }
          checked++;
        }
      }
      t.ok(checked > 1000, `${checked} tuples checked`);
      t.equal(differ, 0, 'single-tuple results equal the batch results');
    });
  }
}

t.test('the fast single-tuple function outlives garbage collection of temporaries', async (t) => {
  const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(5, TINY)).cluster);
  const engine = NativeEngine.fromImage(compileImage(model).image);
  const v4 = generateTuples(5, model, 500).filter((x) => x.src.family === 4);
  const a = tupleArrays(4, v4);
  const first = v4.map((_, i) => engine.classifyV4One(a.src[i]!, a.dst[i]!, a.proto[i]!, a.sport[i]!, a.dport[i]!));
  // Churn the heap (typed arrays and engines) so a moved or freed I/O buffer would show.
  for (let k = 0; k < 20; k++) {
    const junk = Array.from({ length: 2000 }, () => new Uint32Array(16));
    NativeEngine.fromImage(compileImage(model).image).classifyV4One(1, 2, 6, 3, 4);
    t.ok(junk.length === 2000);
  }
  const again = v4.map((_, i) => engine.classifyV4One(a.src[i]!, a.dst[i]!, a.proto[i]!, a.sport[i]!, a.dport[i]!));
  t.same(again, first);
});
