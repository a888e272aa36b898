#!/usr/bin/env node
// The `finetune` CLI; the bundle is built by `npm run build` (esbuild, from src/cli/main.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a bin is plain CommonJS
require('../dist/cli.js');
