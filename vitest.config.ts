import { defineConfig } from 'vitest/config';

/**
 * Three projects, by what their tests need: `unit` (test/unit: no Java, no DynamoDB Local, no synth; seconds),
 * `cdk` (test/cdk: synth and bundling) and `integration` (every other folder: DynamoDB Local, server processes,
 * the installed package, a browser). `npm test` runs all three, `npm run test:unit` the first.
 */
export default defineConfig({
  test: {
    // End-to-end tests start Java servers, several times in one test: on a shared, busy 2-core machine that
    // alone took more than 30 s. A timeout only bounds a hang; no test measures time with it.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['verbose'] : ['default'],
    // Values in test names (it.each's `$description`, e.g. LangGraph's checkpointer suite) and in assertion
    // messages are shown up to this many characters (vitest's default cuts them at 40).
    chaiConfig: { truncateThreshold: 250 },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // aws-sdk-client-mock matchers (toHaveReceivedCommandWith, ...) for the error paths of the store.
          setupFiles: ['test/support/matchers.ts'],
          // The environment every handler module reads at import, as the stack sets it; the turn's model is the
          // offline one. Tests that need another environment stub it (vi.stubEnv) and import afresh.
          env: { TABLE_NAME: 'memory-test', POWERTOOLS_LOG_LEVEL: 'SILENT', MODEL_PROVIDER: 'offline' },
        },
      },
      { extends: true, test: { name: 'cdk', include: ['test/cdk/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/!(unit|cdk)/**/*.test.ts'],
          // Starts AWS's DynamoDB Local once (in memory, free port) for every test of this project.
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
