/**
 * The native tests (native/test/engine_test.cc) on 64-bit ARM: cross-compiled
 * with aarch64-linux-gnu-g++ under UBSan and run by qemu-user
 * (`make -C native/test check-aarch64`). No x86 SIMD there, so the scalar
 * forms alone, with ARM's unsigned char and its own code generation.
 * Skipped, with the reason, without the cross compiler or qemu-user (.ci/run
 * installs both from Debian).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');

t.test('native engine tests on aarch64 (qemu-user, UBSan)', (tt) => {
  const cxx = spawnSync('aarch64-linux-gnu-g++', ['--version'], { encoding: 'utf8' });
  const qemu = spawnSync('qemu-aarch64', ['--version'], { encoding: 'utf8' });
  if (cxx.status !== 0 || qemu.status !== 0) {
    tt.comment('aarch64-linux-gnu-g++ or qemu-aarch64 not available (apt-get install g++-aarch64-linux-gnu qemu-user): not run');
    tt.end();
    return;
  }
  const r = spawnSync('make', ['-s', '-C', join(root, 'native/test'), 'check-aarch64'], { encoding: 'utf8', timeout: 500_000 });
  tt.equal(r.status, 0, `make check-aarch64 exit status\n${r.stdout}\n${r.stderr}`);
  tt.match(r.stdout, /engine_test: ok/);
  tt.match(r.stdout, /no AVX-512 here, no AVX2 here, scalar/, 'the scalar forms only');
  tt.end();
});
