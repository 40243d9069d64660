import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatInspect, inspectImage } from '../../src/format/inspect.js';
import { ImageFormatError } from '../../src/format/image.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const golden = new Uint8Array(readFileSync(join(root, 'native/test/fixtures/egress-allowlist.nvt')));

t.test('inspect summarises the golden image', (tt) => {
  const s = inspectImage(golden);
  tt.equal(s.major, 3);
  tt.equal(s.sections.length, 35);
  tt.equal(s.counts.natFrontends, 1);
  tt.equal(s.counts.natBackends, 2);
  tt.equal(s.counts.natNodePorts, 0);
  tt.ok(s.counts.rules > 0);
  tt.match(formatInspect(s), /^netverdict image NVTIMAGE format 3\.0/);
  tt.end();
});

t.test('inspect rejects a corrupted image with a code', (tt) => {
  const b = golden.slice();
  b[200]! ^= 1;
  let err: unknown;
  try {
    inspectImage(b);
  } catch (e) {
    err = e;
  }
  tt.ok(err instanceof ImageFormatError, 'an ImageFormatError');
  tt.equal((err as ImageFormatError).code, 'BAD_CRC');
  tt.end();
});
