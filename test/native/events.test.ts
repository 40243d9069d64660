/**
 * Trace events through the addon (native/include/engine.h, BatchOutputs
 * events/eventCount/eventStride): the batch and single-tuple paths and the
 * three strategies give the same words; events on leave the other outputs
 * unchanged; a short stride flags overflow; bad arrays throw instead of
 * writing out of bounds.
 */
import t from 'tap';
import { generateCluster, loadGeneratedCluster, TINY } from '../../src/gen/cluster.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import { compileImage } from '../../src/compile/index.js';
import { EVENT_OVERFLOW, NativeEngine, type Strategy } from '../../src/native/index.js';
import { tupleArrays } from '../../src/output/native.js';
import { generateTuples } from '../oracle/tuples.js';
import { allOutputs } from '../oracle/compare.js';

const STRATEGIES: Strategy[] = ['linear', 'decision', 'decision-bitmaps'];

for (const seed of [4, 6]) {
  t.test(`seed ${seed}: batch == single == every strategy`, async (t) => {
    const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(seed, TINY)).cluster);
    const image = compileImage(model).image;
    const tuples = generateTuples(seed, model, 4000);
    const K = Math.min(NativeEngine.fromImage(image).info().traceBound, 254);
    t.ok(K >= 4, `stride ${K}`);
    let differ = 0;
    let nonEmpty = 0;
    let overflowed = 0;
    for (const family of [4, 6] as const) {
      const list = tuples.filter((x) => x.src.family === family);
      const a = tupleArrays(family, list);
      const n = list.length;
      const w = family === 4 ? 1 : 4;
      let first: { events: Uint32Array; eventCount: Uint8Array } | undefined;
      for (const strategy of STRATEGIES) {
        const engine = NativeEngine.fromImage(image, { strategy });
        const plain = allOutputs(n);
        engine.classifyBatch(family, a.src, a.dst, a.sport, a.dport, a.proto, plain);
        const o = { ...allOutputs(n), events: new Uint32Array(n * K), eventCount: new Uint8Array(n), eventStride: K };
        engine.classifyBatch(family, a.src, a.dst, a.sport, a.dport, a.proto, o);
        for (const k of Object.keys(plain) as (keyof typeof plain)[]) {
          if (!plain[k].every((v, i) => v === o[k][i])) differ++;
        }
        const words = (ev: Uint32Array, count: Uint8Array, stride: number, i: number): string => [...ev.subarray(i * stride, i * stride + count[i]!)].join(',');
        if (!first) first = o;
        const events = new Uint32Array(K);
        const count = new Uint8Array(1);
        for (let i = 0; i < n; i++) {
          if (o.eventCount[i] === EVENT_OVERFLOW) overflowed++;
          if (o.eventCount[i]) nonEmpty++;
          if (words(o.events, o.eventCount, K, i) !== words(first.events, first.eventCount, K, i)) differ++;
          engine.classifyOne(family, [...a.src.subarray(i * w, i * w + w)], [...a.dst.subarray(i * w, i * w + w)], a.proto[i]!, a.sport[i]!, a.dport[i]!, undefined, { events, count });
          if (count[0] !== o.eventCount[i] || [...events.subarray(0, count[0])].join(',') !== words(o.events, o.eventCount, K, i)) differ++;
        }
        // A stride of 2: tuples with more events are flagged, the others unchanged.
        const s2 = { verdict: new Uint8Array(n), events: new Uint32Array(n * 2), eventCount: new Uint8Array(n), eventStride: 2 };
        engine.classifyBatch(family, a.src, a.dst, a.sport, a.dport, a.proto, s2);
        for (let i = 0; i < n; i++) {
          const want = o.eventCount[i]! > 2 ? EVENT_OVERFLOW : o.eventCount[i];
          if (s2.eventCount[i] !== want || (want !== EVENT_OVERFLOW && words(s2.events, s2.eventCount, 2, i) !== words(o.events, o.eventCount, K, i))) differ++;
        }
      }
    }
    t.equal(overflowed, 0, 'no tuple overflows the image bound');
    t.ok(nonEmpty > 1000, `${nonEmpty} tuples with events`);
    t.equal(differ, 0, 'events equal across paths and strategies; other outputs unchanged');
  });
}

t.test('bad event arrays throw', async (t) => {
  const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(1, TINY)).cluster);
  const engine = NativeEngine.fromImage(compileImage(model).image);
  const a = tupleArrays(4, generateTuples(1, model, 200).filter((x) => x.src.family === 4));
  const n = a.proto.length;
  const run = (extra: Record<string, unknown>): void => {
    engine.classifyBatch(4, a.src, a.dst, a.sport, a.dport, a.proto, { verdict: new Uint8Array(n), ...extra });
  };
  t.throws(() => run({ events: new Uint32Array(n * 4 - 1), eventCount: new Uint8Array(n), eventStride: 4 }), { code: 'ERR_LENGTH' });
  t.throws(() => run({ events: new Uint32Array(n * 4), eventCount: new Uint8Array(n - 1), eventStride: 4 }), { code: 'ERR_LENGTH' });
  t.throws(() => run({ events: new Uint32Array(n * 4), eventCount: new Uint16Array(n), eventStride: 4 }), { code: 'ERR_LENGTH' });
  t.throws(() => run({ events: new Uint32Array(n * 4), eventCount: new Uint8Array(n) }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => run({ events: new Uint32Array(n * 300), eventCount: new Uint8Array(n), eventStride: 300 }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => run({ events: new Uint32Array(n * 4), eventCount: new Uint8Array(n), eventStride: 0 }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => run({ events: new Uint32Array(n * 4), eventCount: new Uint8Array(n), eventStride: 2.5 }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => run({ eventCount: new Uint8Array(n) }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => engine.classifyOne(4, [1], [2], 6, 1, 2, undefined, { events: new Uint32Array(0), count: new Uint8Array(1) }), { code: 'ERR_INVALID_ARG' });
  t.throws(() => engine.classifyOne(4, [1], [2], 6, 1, 2, undefined, { events: new Uint32Array(4), count: new Uint8Array(0) }), { code: 'ERR_INVALID_ARG' });
  run({ events: new Uint32Array(n * 4), eventCount: new Uint8Array(n), eventStride: 4 });
  t.pass('a valid call still works');
});
