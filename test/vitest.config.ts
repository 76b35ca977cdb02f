import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup.ts'],
    // Integration and CLI files each make their own databases; two workers
    // match the two cores these machines have.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // `npm test` passes --coverage: a summary of what the suite ran of src/ (the CLI runs in
    // child processes, so what only the CLI tests reach is not counted).
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'html'],
      reportsDirectory: 'coverage',
    },
  },
});
