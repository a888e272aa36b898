// What each bundle may contain, checked on esbuild's metafile after every build (scripts/build.mjs). The
// lint rules (eslint.config.mjs) see `import` statements; this sees what actually got bundled or left to
// `require` at run time, through any chain of imports.
import { builtinModules } from 'node:module';

const NODE_BUILTINS = new Set(builtinModules);

/** Heavy native/ML packages only the trainer may load. */
const TRAINER_ONLY = [
  { test: (p) => /(^|\/)@tensorflow\//.test(p), what: 'TensorFlow.js' },
  { test: (p) => /(^|\/)node_modules\/webgpu\/|^webgpu(\/|$)/.test(p), what: 'Dawn (the webgpu package)' },
  { test: (p) => /(^|\/)node_modules\/sharp\/|^sharp(\/|$)/.test(p), what: 'sharp' },
  { test: (p) => /^src\/engine\//.test(p), what: 'src/engine' },
];

/** A module left to `require`: `node:fs` or `fs`. */
const isBuiltinName = (p) => p.startsWith('node:') || NODE_BUILTINS.has(p.split('/')[0]);
/** A bundled package standing in for a Node built-in in the browser (node_modules/punycode/…). */
const isBuiltinStandIn = (p) =>
  [...p.matchAll(/node_modules\/([^/@]+)\//g)].some((m) => NODE_BUILTINS.has(m[1]));

/**
 * The problems of one bundle: `kind` is 'extension' (the extension host), 'trainer' (the trainer, the CLI,
 * the decode worker) or 'webview' (a browser bundle).
 * `metafile` is esbuild's; inputs are files bundled, outputs' imports with `external` are left to require.
 */
export function bundleProblems(kind, metafile) {
  const inputs = Object.keys(metafile.inputs);
  const externals = Object.values(metafile.outputs).flatMap((output) =>
    output.imports.filter((i) => i.external).map((i) => i.path),
  );
  const problems = [];
  const report = (what, found) => {
    if (found.length > 0) problems.push(`${what}: ${found.slice(0, 3).join(', ')}`);
  };
  if (kind === 'trainer') {
    report(
      'needs vscode, which only the extension host has',
      externals.filter((p) => p === 'vscode'),
    );
    return problems;
  }
  for (const rule of TRAINER_ONLY) {
    report(`includes ${rule.what}`, [...inputs, ...externals].filter(rule.test));
  }
  if (kind === 'webview') {
    report('needs Node built-ins', [...externals.filter(isBuiltinName), ...inputs.filter(isBuiltinStandIn)]);
    report(
      'includes host code',
      inputs.filter((p) => /^src\/host\//.test(p)),
    );
    report(
      'includes the message guards (they run in the host and the trainer)',
      inputs.filter((p) => p === 'src/protocol/messageGuards.ts'),
    );
    report(
      'includes core modules outside src/core/portable',
      inputs.filter((p) => /^src\/core\//.test(p) && !/^src\/core\/portable\//.test(p)),
    );
  }
  return problems;
}

/** Throws with every problem of the bundle `name` (e.g. dist/extension.js). */
export function checkBundle(name, kind, metafile) {
  const problems = bundleProblems(kind, metafile);
  if (problems.length > 0) {
    throw new Error(
      `${name} crosses a process boundary (ARCHITECTURE.md, "Allowed imports"):\n  ${problems.join('\n  ')}`,
    );
  }
}
