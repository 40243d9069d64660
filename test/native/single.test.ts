/**
 * The single-tuple entry points (classifyV4One: five numbers through the
 * addon's no-argument fast function; classifyOne: any family) give exactly
 * what classifyBatch gives for the same tuple, for every strategy, and keep
 * working after the engine wrapper's temporaries are collected; every engine of
 * a thread shares one fast function (each its own slot, image, strategy and
 * result array), and a collected engine frees its slot.
 */
import t from 'tap';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
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

t.test('engines share one fast function: interleaved calls use each engine its own image, strategy and results', async (t) => {
  const models = [5, 7, 9].map((seed) => new ResolvedCluster(loadGeneratedCluster(generateCluster(seed, TINY)).cluster));
  const strategies = ['linear', 'decision', 'decision-bitmaps'] as const;
  const engines = models.map((m, k) => NativeEngine.fromImage(compileImage(m).image, { strategy: strategies[k]! }));
  const cases = models.map((m, k) => {
    const v4 = generateTuples(11 + k, m, 1500).filter((x) => x.src.family === 4);
    const a = tupleArrays(4, v4);
    const out = allOutputs(v4.length);
    engines[k]!.classifyBatch(4, a.src, a.dst, a.sport, a.dport, a.proto, out, strategies[k]);
    return { a, out, n: v4.length };
  });
  let checked = 0, differ = 0;
  for (let i = 0; i < 400; i++) {
    for (let k = 0; k < engines.length; k++) {
      const { a, out, n } = cases[k]!;
      const j = i % n;
      const v = engines[k]!.classifyV4One(a.src[j]!, a.dst[j]!, a.proto[j]!, a.sport[j]!, a.dport[j]!);
      const want = [out.verdict[j], out.reason[j], out.egressRule[j], out.ingressRule[j], out.decidingRule[j], out.evalReasons[j], out.natBackend[j], out.rulesVisited[j]];
      if (v !== (want[0] === 1) || JSON.stringify([...engines[k]!.result]) !== JSON.stringify(want)) differ++;
      checked++;
    }
  }
  t.equal(checked, 1200);
  t.equal(differ, 0, 'every call answered by its own engine, into its own result array');
});

t.test('a collected engine gives its fast slot back', async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(5, TINY)).cluster);
  const image = compileImage(model).image;
  const slotOf = (e: NativeEngine): number => (e as unknown as { slot: number }).slot;
  const keep = NativeEngine.fromImage(image);
  let maxSlot = 0;
  for (let k = 0; k < 40; k++) maxSlot = Math.max(maxSlot, slotOf(NativeEngine.fromImage(image)));
  t.ok(maxSlot >= 40, `40 live-or-garbage engines held slots up to ${maxSlot}`);
  // Finalizers run after a collection, on a later turn: collect until a new
  // engine reuses a freed slot (bounded, so a leak fails instead of hanging).
  let reused = false;
  for (let round = 0; round < 20 && !reused; round++) {
    gc();
    await new Promise((r) => setImmediate(r));
    reused = slotOf(NativeEngine.fromImage(image)) < maxSlot;
  }
  t.ok(reused, 'a slot freed by a collected engine is reused');
  t.equal(keep.classifyV4One(1, 2, 6, 3, 4), keep.classifyOne(4, [1], [2], 6, 3, 4)[0] === 1);
});
