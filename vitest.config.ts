import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts AWS's DynamoDB Local once (in memory, free port) for every integration test.
    globalSetup: ['test/support/global-setup.ts'],
    // aws-sdk-client-mock matchers (toHaveReceivedCommandWith, ...) for unit tests.
    setupFiles: ['test/support/matchers.ts'],
    // End-to-end tests start Java servers, several times in one test: on a shared, busy 2-core machine that
    // alone took more than 30 s. A timeout only bounds a hang; no test measures time with it.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['verbose'] : ['default'],
    // Values in test names (it.each's `$description`, e.g. LangGraph's checkpointer suite) and in assertion
    // messages are shown up to this many characters (vitest's default cuts them at 40).
    chaiConfig: { truncateThreshold: 250 },
  },
});
