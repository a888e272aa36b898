/**
 * The webview handshake (src/host/panels/webviewPanelHost.ts): what the host posts before the webview's
 * first `ready` is queued and delivered at `ready`, in order, before the complete state; after it,
 * messages go straight through; a webview that never gets ready does not make the queue grow without end.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MAX_QUEUED_MESSAGES, WebviewPanelHost } from '../../src/host/panels/webviewPanelHost';
import * as vscode from '../helpers/fakeVscodeApi';

type In = { type: 'ready' } | { type: 'ping' };
type Out = { type: string; n?: number };

function host(onReady: (h: WebviewPanelHost<In, Out>) => void) {
  const panel = vscode.createFakePanel('fineTune.test', 'test');
  const received: In[] = [];
  const h: WebviewPanelHost<In, Out> = new WebviewPanelHost<In, Out>({
    panel: panel as never,
    extensionUri: vscode.Uri.file('/ext') as never,
    bundle: 'training',
    title: 'test',
    isMessage: (v): v is In =>
      typeof v === 'object' && v !== null && ['ready', 'ping'].includes((v as In).type),
    onMessage: (m) => void received.push(m),
    onReady: () => onReady(h),
  });
  return { panel, h, received };
}

describe('webview panel host handshake', () => {
  it('queues what is posted before ready and delivers it, in order, before the complete state', async () => {
    const { panel, h } = host((self) => self.post({ type: 'init' }));
    h.post({ type: 'epoch', n: 1 });
    h.post({ type: 'epoch', n: 2 });
    assert.deepEqual(panel.posted, [], 'nothing reaches a webview that is not listening yet');
    await panel.deliver({ type: 'ready' });
    assert.deepEqual(panel.posted, [{ type: 'epoch', n: 1 }, { type: 'epoch', n: 2 }, { type: 'init' }]);
    h.post({ type: 'epoch', n: 3 });
    assert.deepEqual(panel.posted.at(-1), { type: 'epoch', n: 3 }, 'after ready, straight through');
    // A reloaded webview says ready again: the complete state again, nothing queued is replayed twice.
    await panel.deliver({ type: 'ready' });
    assert.deepEqual(panel.posted.slice(4), [{ type: 'init' }]);
  });

  it('keeps the newest messages when a webview takes long to get ready', async () => {
    const { panel, h } = host(() => {});
    for (let n = 0; n < MAX_QUEUED_MESSAGES + 50; n++) h.post({ type: 'batch', n });
    await panel.deliver({ type: 'ready' });
    assert.equal(panel.posted.length, MAX_QUEUED_MESSAGES);
    assert.deepEqual(panel.posted[0], { type: 'batch', n: 50 });
    assert.deepEqual(panel.posted.at(-1), { type: 'batch', n: MAX_QUEUED_MESSAGES + 49 });
  });

  it('passes only guarded messages other than ready to the handler', async () => {
    const { panel, received } = host(() => {});
    await panel.deliver({ type: 'ping' });
    await panel.deliver({ type: 'drop tables' });
    await panel.deliver({ type: 'ready' });
    assert.deepEqual(received, [{ type: 'ping' }]);
  });
});
