import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/** Protocol libraries and sockets that the core must never import (it sees only events). */
const protocolPackages = ['pg', 'pg-protocol', 'mysql2', 'ssh2', '@kubernetes/client-node', 'libpg-query', 'net', 'node:net', 'tls', 'node:tls'];

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.warden/**', 'coverage/**'] },
  ...nx.configs['flat/base'],
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // The core is protocol-agnostic: no adapter, no protocol library, no sockets.
            // `type:testing` holds test fixtures (OIDC provider, private Postgres) and depends on nothing of ours.
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core', 'type:testing'], bannedExternalImports: protocolPackages },
            { sourceTag: 'type:sql', onlyDependOnLibsWithTags: ['type:core', 'type:testing'] },
            // Adapters use the core (and SQL analysis, and the shared wire helpers); never each other.
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:core', 'type:sql', 'type:adapter-kit', 'type:testing'] },
            // Wire helpers shared by adapters: no policy, no protocol, nothing but the core's types.
            { sourceTag: 'type:adapter-kit', onlyDependOnLibsWithTags: ['type:core', 'type:testing'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:sql', 'type:adapter', 'type:adapter-kit', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:core', 'type:sql', 'type:adapter', 'type:adapter-kit', 'type:app', 'type:testing'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.test.ts', 'tools/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/bin/*.js', 'jest.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
];
