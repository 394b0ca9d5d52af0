/**
 * Three tiers by file name. Unit specs need nothing running (no global setup); integration and
 * end-to-end specs share one real stack (test/global-setup.ts). Files run one at a time: on a
 * 2-core machine that keeps broker latency and consumer-group rebalances predictable.
 */

import { defineConfig } from 'vitest/config';

const shared = { exclude: ['**/node_modules/**', '.stack/**'] };

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Global teardown stops the broker it started (SIGTERM, SIGKILL after 30 s).
    teardownTimeout: 60_000,
    fileParallelism: false,
    // CI also keeps a machine-readable report, summarised by .ci/run as "N passed, N failed".
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: process.env.CI ? { json: '.ci/test-results.json' } : undefined,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['**/*.unit.spec.ts'], ...shared },
      },
      {
        extends: true,
        test: {
          name: 'int',
          // Untiered *.spec.ts files land here too: they get the stack, to be safe.
          include: ['**/*.spec.ts'],
          exclude: [...shared.exclude, '**/*.unit.spec.ts', '**/*.e2e.spec.ts'],
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['**/*.e2e.spec.ts'],
          ...shared,
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
