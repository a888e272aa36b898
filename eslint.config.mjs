// Flat config: typescript-eslint's recommended rules plus the architectural boundaries that keep the
// processes apart: the engine never imports vscode, the host never loads TensorFlow.js (the build also
// checks the extension bundle for it).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'out/**',
      'scratch/**',
      'schemas/**',
      'samples/**',
      'test/e2e/node_modules/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/engine/**/*.ts', 'src/cli/**/*.ts', 'src/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['vscode'] }] },
  },
  {
    // The webgpu backend cannot read GPU memory synchronously in Node: reads in the engine are
    // `await tensor.data()` (and webgpuBackend.ts throws a clear message for any that slips through).
    files: ['src/engine/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['dataSync', 'arraySync', 'bufferSync'].map((property) => ({
          property,
          message: 'Synchronous tensor reads fail on the webgpu backend: use `await tensor.data()` / `array()` / `buffer()`.',
        })),
      ],
    },
  },
  {
    files: ['src/host/**/*.ts', 'src/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@tensorflow/*'] }] },
  },
);
