// One jest run for the whole workspace. Sources are TypeScript, transformed by swc to CommonJS;
// the ESM-only dependencies (jose, openid-client, oidc-provider, …) are transformed too, because
// jest's module system cannot load ESM on Node 20.
const esmOnly = ['openid-client', 'oauth4webapi', 'jose', 'oidc-provider', '@kubernetes/client-node', '@electric-sql', '@guanmingchiu/sqlparser-ts'];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/tools'],
  testMatch: ['**/src/**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj|cj)sx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: {
    '^@warden/core$': '<rootDir>/packages/core/src/index.ts',
    '^@warden/core/testing$': '<rootDir>/packages/core/src/testing.ts',
    '^@warden/sql$': '<rootDir>/packages/sql/src/index.ts',
    '^@warden/adapter-postgres$': '<rootDir>/packages/adapter-postgres/src/index.ts',
    '^@warden/adapter-kit$': '<rootDir>/packages/adapter-kit/src/index.ts',
    '^@warden/adapter-mysql$': '<rootDir>/packages/adapter-mysql/src/index.ts',
    '^@warden/adapter-ssh$': '<rootDir>/packages/adapter-ssh/src/index.ts',
    '^@warden/adapter-kubernetes$': '<rootDir>/packages/adapter-kubernetes/src/index.ts',
    '^@warden/gateway$': '<rootDir>/apps/gateway/src/index.ts',
    '^@warden/testing$': '<rootDir>/tools/testing/src/index.ts',
    '^@warden/redteam$': '<rootDir>/tools/redteam/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 30000,
  maxWorkers: 2,
};
