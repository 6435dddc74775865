// `npx vitest run --pool=threads|forks` from this directory: the same suites as jest, with
// jest-style globals.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.test.js'],
    globals: true,
    testTimeout: 20000,
  },
});
