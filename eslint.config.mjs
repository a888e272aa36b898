// Flat config: typescript-eslint's recommended rules plus the architectural boundaries that keep the
// processes apart (ARCHITECTURE.md, "Allowed imports"):
//   src/protocol       imports nothing but itself, and ajv for the guards the webviews never import
//   src/core           TensorFlow-free library of the host, the engine and the CLI: protocol and core only
//   src/core/portable  the part of core the webviews bundle too: no Node built-ins, protocol and portable only
//   src/engine         the trainer: protocol, core, engine; never vscode
//   src/cli            the CLI: protocol, core, engine; never vscode
//   src/host           the extension host: protocol, core, host; never TensorFlow.js, Dawn, sharp or the engine
//   webview            browser bundles: protocol, core/portable, webview; never Node built-ins or the host
// The build checks the bundles as well (scripts/bundleBoundaries.mjs): a `require` the rules cannot see
// still fails it.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { SYNC_CORE_IO } from './scripts/lint/hostSyncIo.mjs';

/** A relative import that reaches into the folder `name` (`../engine/x`, `../../src/engine/x`). */
const folder = (name, why) => ({ regex: `^(\\.\\.?/)+(src/)?${name}(/|$)`, message: why });

const NODE_BUILTINS = {
  paths: builtinModules.map((name) => ({ name, message: 'webviews run in a browser: no Node built-ins' })),
  pattern: { regex: '^node:', message: 'webviews run in a browser: no Node built-ins' },
};
const VSCODE = { name: 'vscode', message: 'only the extension host (src/host) talks to VS Code' };
const HEAVY = [
  { regex: '^@tensorflow/', message: 'TensorFlow.js loads in the trainer only (src/engine)' },
  { regex: '^webgpu(/|$)', message: 'Dawn (the webgpu package) loads in the trainer only (src/engine)' },
  { regex: '^sharp(/|$)', message: 'the image decoder loads in the trainer only (src/engine)' },
];
const ENGINE = folder(
  'engine',
  'the engine is imported by the trainer entry and the CLI only: move what you need to src/core',
);
const HOST = folder('host', 'the extension host is imported by nothing else');
const CLI = folder('cli', 'the CLI is an entry point, imported by nothing else');
const WEBVIEW = folder('webview', 'webview code is bundled for the browser, imported by nothing else');

const restrict = (paths, patterns) => ({ 'no-restricted-imports': ['error', { paths, patterns }] });

// The extension host never blocks its thread on the file system: a cloned repository decides what its
// paths are (a run.json that is a link to /dev/zero, a FIFO, a folder of a million files), and one
// synchronous call on such a path freezes all of VS Code. Every `…Sync` call is refused in src/host, and so
// are the core functions that read or write synchronously — each has an asynchronous twin the host uses.
const HOST_SYNC_MESSAGE =
  'The extension host must not block on the file system (a hostile workspace can make a sync call hang VS Code): use fs.promises or the async core function.';
const HOST_NO_SYNC_CALLS = [
  {
    selector: 'CallExpression[callee.type="MemberExpression"][callee.property.name=/Sync$/]',
    message: HOST_SYNC_MESSAGE,
  },
  { selector: 'CallExpression[callee.type="Identifier"][callee.name=/Sync$/]', message: HOST_SYNC_MESSAGE },
  { selector: 'ImportSpecifier[imported.name=/Sync$/]', message: HOST_SYNC_MESSAGE },
];
const HOST_SYNC_CORE = Object.entries(SYNC_CORE_IO).map(([module, importNames]) => ({
  regex: `^(\\.\\./)+(src/)?core/${module}$`,
  importNames,
  message: HOST_SYNC_MESSAGE,
}));

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
  // One block per folder: a file matches exactly one of them (a later block would replace, not add to,
  // an earlier block's list).
  {
    files: ['src/protocol/**/*.ts'],
    rules: restrict(
      [VSCODE, ...NODE_BUILTINS.paths],
      [
        ...HEAVY,
        NODE_BUILTINS.pattern,
        ENGINE,
        HOST,
        CLI,
        WEBVIEW,
        folder('core', 'the protocol is the bottom layer: it imports nothing but itself'),
      ],
    ),
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/portable/**'],
    rules: restrict([VSCODE], [...HEAVY, ENGINE, HOST, CLI, WEBVIEW]),
  },
  {
    files: ['src/core/portable/**/*.ts'],
    rules: restrict(
      [VSCODE, ...NODE_BUILTINS.paths],
      [
        ...HEAVY,
        NODE_BUILTINS.pattern,
        ENGINE,
        HOST,
        CLI,
        WEBVIEW,
        // From src/core/portable/x.ts: ./y (portable) and ../../protocol/z only.
        {
          regex: '^\\.\\./(?!\\.\\./protocol/)',
          message: 'webviews bundle src/core/portable: import only portable modules and src/protocol here',
        },
      ],
    ),
  },
  {
    files: ['src/engine/**/*.ts', 'src/cli/**/*.ts'],
    rules: restrict([VSCODE], [HOST, WEBVIEW, CLI]),
  },
  {
    files: ['src/host/**/*.ts'],
    rules: {
      ...restrict([], [...HEAVY, ENGINE, CLI, WEBVIEW, ...HOST_SYNC_CORE]),
      'no-restricted-syntax': ['error', ...HOST_NO_SYNC_CALLS],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: restrict(
      [VSCODE, ...NODE_BUILTINS.paths],
      [
        ...HEAVY,
        NODE_BUILTINS.pattern,
        ENGINE,
        HOST,
        CLI,
        {
          regex: '^(\\.\\./)+src/protocol/messageGuards$',
          message: 'the guards (and ajv) run in the host and the trainer; webviews trust the host',
        },
        {
          regex: '^(\\.\\./)+src/core/(?!portable/)',
          message: 'webviews may import src/core/portable only (the rest of core uses Node built-ins)',
        },
      ],
    ),
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
);
