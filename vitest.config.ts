import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts AWS's DynamoDB Local once (in memory, free port) for every integration test.
    globalSetup: ['test/support/global-setup.ts'],
    // aws-sdk-client-mock matchers (toHaveReceivedCommandWith, ...) for unit tests.
    setupFiles: ['test/support/matchers.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ['verbose'] : ['default'],
  },
});
