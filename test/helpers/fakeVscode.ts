/**
 * Makes `require('vscode')` resolve to the stand-in in fakeVscodeApi.ts, so host modules load in plain
 * Node. Import this module before any src/host module.
 */
import Module from 'node:module';
import * as fake from './fakeVscodeApi';

const fakePath = require.resolve('./fakeVscodeApi');
type Resolve = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const original = loader._resolveFilename;
loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? fakePath : original.call(this, request, ...rest);
};

export const vscode = fake;
