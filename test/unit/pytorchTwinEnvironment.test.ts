/**
 * The bench's PyTorch twin runs with glibc's malloc keeping freed memory (a caching allocator, as
 * PyTorch's CPU guide advises); `--twin-system-malloc` runs it with glibc's defaults, and variables the
 * user set win either way.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { KEPT_MEMORY_MALLOC, twinEnvironment } from '../../scripts/bench/pytorchTwin';

describe('PyTorch twin environment', () => {
  it('keeps freed memory by default, glibc defaults on request, the user’s own settings always', () => {
    const env = { PATH: '/usr/bin' };
    const kept = twinEnvironment(false, env);
    assert.equal(kept.MALLOC_MMAP_THRESHOLD_, String(32 * 2 ** 20));
    assert.equal(kept.MALLOC_TRIM_THRESHOLD_, String(4 * 2 ** 30));
    assert.equal(kept.PATH, '/usr/bin');
    const system = twinEnvironment(true, env);
    for (const name of Object.keys(KEPT_MEMORY_MALLOC)) assert.equal(system[name], undefined, name);
    const own = twinEnvironment(false, { ...env, MALLOC_MMAP_THRESHOLD_: '131072' });
    assert.equal(own.MALLOC_MMAP_THRESHOLD_, '131072');
  });
});
