/**
 * CSV rows: column i of `csvRow` is the record's field CSV_COLUMNS[i] (with
 * the direction and deciding fields flattened), quoted when it holds a comma,
 * quote or line break — checked against that definition on every record of
 * generated clusters' tuples (NAT, host endpoints, missing directions).
 */
import t from 'tap';
import { SMALL, TINY, generateCluster, loadGeneratedCluster } from '../../src/gen/cluster.js';
import { CSV_COLUMNS, csvRow, flowRecord, type FlowRecord } from '../../src/output/records.js';
import { ReferenceEvaluator } from '../../src/reference/evaluate.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import { generateTuples } from '../oracle/tuples.js';

function byDefinition(rec: FlowRecord): string {
  const flat: Record<string, unknown> = {
    ...rec,
    egress_action: rec.egress?.action,
    ingress_action: rec.ingress?.action,
    deciding_direction: rec.deciding?.direction,
    deciding_tier: rec.deciding?.tier,
    deciding_policy: rec.deciding?.policy,
    rule_index: rec.deciding?.rule_index,
  };
  return CSV_COLUMNS.map((c) => {
    const v = flat[c];
    if (v === undefined || v === null) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }).join(',');
}

t.test('csvRow equals the column definition', (t) => {
  let n = 0;
  let nat = 0;
  for (const [seed, size] of [[1, TINY], [2, TINY], [3, SMALL]] as const) {
    const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(seed, size)).cluster);
    const ev = new ReferenceEvaluator(model);
    for (const tuple of generateTuples(seed, model, 1500)) {
      const rec = flowRecord(ev.evaluate(tuple));
      if (rec.nat) nat++;
      const want = byDefinition(rec);
      if (csvRow(rec) !== want) t.fail(`${JSON.stringify(rec)}: ${csvRow(rec)} vs ${want}`);
      n++;
    }
  }
  t.ok(nat > 0, `${n} records, ${nat} with NAT`);
  const quoted = { ...flowRecord(new ReferenceEvaluator(new ResolvedCluster(loadGeneratedCluster(generateCluster(1, TINY)).cluster)).evaluate({ src: { family: 4, value: 1n }, dst: { family: 4, value: 2n }, proto: 6, sport: 1, dport: 2 })) };
  quoted.source_name = 'a,"b"\nc';
  t.equal(csvRow(quoted), byDefinition(quoted));
  t.match(csvRow(quoted), /"a,""b""\nc"/);
  t.end();
});
