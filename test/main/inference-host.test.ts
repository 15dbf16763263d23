import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import { FakeBrowserWindow, FakeMessageChannelMain, FakeWebContents, resetFakes } from './fake-electron';
import { InferenceHost, MAX_CLIENTS_PER_RENDERER } from '../../main/inference-host';
import { APP_ORIGIN } from '../../main/security';
import { InferenceChannel, Push, type EngineStatus } from '../../common/ipc-contract';

let logs: string[];

function makeHost(options: Partial<ConstructorParameters<typeof InferenceHost>[0]> = {}) {
  return new InferenceHost({
    preload: '/app/out/preload/inference.cjs',
    url: 'app://explorer/inference.html',
    trustedOrigins: [APP_ORIGIN],
    maxRestarts: 2,
    backoffMs: (attempt) => attempt * 1000,
    readyTimeoutMs: 30_000,
    stableMs: 60_000,
    log: (m) => logs.push(m),
    ...options,
  });
}

/** The UI's webContents (the host only needs id, send, postMessage, isDestroyed). */
function makeUi() {
  return new FakeWebContents();
}

const statuses = (ui: FakeWebContents): EngineStatus[] =>
  ui.sent.filter((s) => s.channel === Push.engineStatus).map((s) => s.args[0] as EngineStatus);
const portsTo = (contents: FakeWebContents, channel: string) => contents.posted.filter((p) => p.channel === channel);
const liveWindow = () => FakeBrowserWindow.instances.filter((w) => !w.destroyed);

beforeEach(() => {
  resetFakes();
  logs = [];
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe('InferenceHost', () => {
  it('creates the hidden inference window with the factory: show false, no background throttling, hardened', () => {
    const host = makeHost();
    host.start();
    expect(FakeBrowserWindow.instances).toHaveLength(1);
    const win = FakeBrowserWindow.instances[0];
    expect(win.options.show).toBe(false);
    expect(win.visible).toBe(false);
    expect(win.options.webPreferences).toMatchObject({
      preload: '/app/out/preload/inference.cjs',
      backgroundThrottling: false,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
    });
    expect(win.webContents.windowOpenHandler).not.toBeNull();
  });

  it('queues UI connections until the ready handshake, then wires one channel per UI', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    host.connect(ui);
    expect(FakeMessageChannelMain.created).toHaveLength(0);
    expect(statuses(ui)).toEqual([{ state: 'starting' }]);

    const inf = FakeBrowserWindow.instances[0].webContents;
    host.onReady(inf.id, 'webgl');
    expect(FakeMessageChannelMain.created).toHaveLength(1);
    const channel = FakeMessageChannelMain.created[0];
    expect(portsTo(inf, InferenceChannel.port)).toEqual([
      { channel: InferenceChannel.port, message: null, transfer: [channel.port1] },
    ]);
    expect(portsTo(ui, Push.enginePort)).toEqual([
      { channel: Push.enginePort, message: { clientId: 0, engine: 1 }, transfer: [channel.port2] },
    ]);
    expect(statuses(ui).at(-1)).toEqual({ state: 'ready' });
    expect(host.currentStatus).toEqual({ state: 'ready' });

    // A second UI connecting while ready is wired at once, on its own channel.
    const ui2 = makeUi();
    host.connect(ui2);
    expect(FakeMessageChannelMain.created).toHaveLength(2);
    expect(portsTo(ui2, Push.enginePort)[0].transfer).toEqual([FakeMessageChannelMain.created[1].port2]);
    expect(portsTo(inf, InferenceChannel.port)).toHaveLength(2);
  });

  it('ignores a ready message from anything but the live inference window', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    host.connect(ui);
    host.onReady(ui.id);
    expect(host.currentStatus).toEqual({ state: 'starting' });
    expect(FakeMessageChannelMain.created).toHaveLength(0);
    expect(logs.some((l) => l.includes('ignored a ready message'))).toBe(true);
  });

  it('restarts after render-process-gone, wires new ports and tells the UI', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    host.connect(ui);
    const first = FakeBrowserWindow.instances[0];
    host.onReady(first.webContents.id);

    first.webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 139 });
    expect(first.destroyed).toBe(true);
    const restarting = statuses(ui).at(-1);
    expect(restarting).toMatchObject({ state: 'restarting', attempt: 1 });
    expect((restarting as { reason: string }).reason).toContain('crashed');
    expect(host.isInferenceSender(first.webContents.id)).toBe(false);

    // Backoff: nothing before 1 s.
    vi.advanceTimersByTime(999);
    expect(FakeBrowserWindow.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeBrowserWindow.instances).toHaveLength(2);
    const second = FakeBrowserWindow.instances[1];
    expect(second.options.show).toBe(false);
    expect(second.options.webPreferences).toMatchObject({ backgroundThrottling: false });

    // Late events from the dead window change nothing.
    first.webContents.emit('unresponsive');
    host.onReady(first.webContents.id);
    expect(FakeMessageChannelMain.created).toHaveLength(1);

    host.onReady(second.webContents.id);
    expect(FakeMessageChannelMain.created).toHaveLength(2);
    const fresh = FakeMessageChannelMain.created[1];
    expect(portsTo(second.webContents, InferenceChannel.port)[0].transfer).toEqual([fresh.port1]);
    expect(portsTo(ui, Push.enginePort).map((p) => p.transfer[0])).toEqual([
      FakeMessageChannelMain.created[0].port2,
      fresh.port2,
    ]);
    expect(statuses(ui).at(-1)).toEqual({ state: 'ready' });
  });

  it('treats unresponsive, a failed load, a preload error, a closed window and inference:fatal as failures', () => {
    const host = makeHost({ maxRestarts: 10, backoffMs: () => 0 });
    host.start();
    const ui = makeUi();
    host.connect(ui);
    const trigger = [
      (w: FakeBrowserWindow) => w.webContents.emit('unresponsive'),
      (w: FakeBrowserWindow) =>
        w.webContents.emit('did-fail-load', {}, -6, 'ERR_FILE_NOT_FOUND', 'app://explorer/inference.html', true),
      (w: FakeBrowserWindow) => w.webContents.emit('preload-error', {}, '/p.cjs', new Error('boom')),
      (w: FakeBrowserWindow) => w.destroy(),
      (w: FakeBrowserWindow) => host.onFatal(w.webContents.id, 'WebGL context lost twice'),
    ];
    const reasons = [
      'stopped responding',
      'failed to load',
      'preload failed',
      'was closed',
      'WebGL context lost twice',
    ];
    trigger.forEach((fire, i) => {
      const w = liveWindow()[0];
      fire(w);
      const s = statuses(ui).at(-1) as { state: string; reason: string };
      expect(s.state).toBe('restarting');
      expect(s.reason).toContain(reasons[i]);
      vi.advanceTimersByTime(0);
      expect(liveWindow()).toHaveLength(1);
    });
    // An aborted load (our own navigation cancel) is not a failure.
    const before = statuses(ui).length;
    liveWindow()[0].webContents.emit('did-fail-load', {}, -3, 'ERR_ABORTED', 'app://explorer/inference.html', true);
    expect(statuses(ui)).toHaveLength(before);
  });

  it('treats a window that never says ready as hung', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    host.connect(ui);
    vi.advanceTimersByTime(30_000);
    expect(statuses(ui).at(-1)).toMatchObject({ state: 'restarting', attempt: 1 });
    expect((statuses(ui).at(-1) as { reason: string }).reason).toContain('did not get ready within 30 s');
  });

  it('gives up after the maximum number of restarts and reports failed', () => {
    const host = makeHost({ maxRestarts: 2 });
    host.start();
    const ui = makeUi();
    host.connect(ui);
    for (let i = 0; i < 3; i++) {
      liveWindow()[0].webContents.emit('render-process-gone', {}, { reason: 'oom', exitCode: 1 });
      vi.advanceTimersByTime(10_000);
    }
    const last = statuses(ui).at(-1) as { state: string; reason: string };
    expect(last.state).toBe('failed');
    expect(last.reason).toContain('oom');
    expect(last.reason).toContain('gave up after 2 restarts');
    expect(
      statuses(ui)
        .filter((s) => s.state === 'restarting')
        .map((s) => (s as { attempt: number }).attempt),
    ).toEqual([1, 2]);
    expect(liveWindow()).toHaveLength(0);
    vi.advanceTimersByTime(60_000);
    expect(FakeBrowserWindow.instances).toHaveLength(3);

    // A manual restart (the UI's "try again") starts over.
    host.restart('user asked');
    expect(liveWindow()).toHaveLength(1);
    expect(statuses(ui).at(-1)).toEqual({ state: 'restarting', reason: 'user asked', attempt: 1 });
    host.onReady(liveWindow()[0].webContents.id);
    expect(statuses(ui).at(-1)).toEqual({ state: 'ready' });
    expect(portsTo(ui, Push.enginePort)).toHaveLength(1);
  });

  it('forgets past crashes once the engine has stayed up for stableMs', () => {
    const host = makeHost({ maxRestarts: 1, backoffMs: () => 0 });
    host.start();
    const ui = makeUi();
    host.connect(ui);
    for (let round = 0; round < 3; round++) {
      host.onReady(liveWindow()[0].webContents.id);
      vi.advanceTimersByTime(60_000);
      liveWindow()[0].webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
      expect(statuses(ui).at(-1)).toMatchObject({ state: 'restarting', attempt: 1 });
      vi.advanceTimersByTime(0);
    }
  });

  it('stop() destroys the window and ignores what follows', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    host.connect(ui);
    const win = FakeBrowserWindow.instances[0];
    const sentBefore = ui.sent.length;
    host.stop();
    expect(win.destroyed).toBe(true);
    vi.advanceTimersByTime(120_000);
    expect(FakeBrowserWindow.instances).toHaveLength(1);
    expect(ui.sent).toHaveLength(sentBefore);
  });

  it('drops a UI whose webContents is destroyed', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    host.connect(ui);
    ui.destroyed = true;
    host.onReady(FakeBrowserWindow.instances[0].webContents.id);
    expect(FakeMessageChannelMain.created).toHaveLength(0);
  });

  it('gives each client of one renderer its own channel, tagged with its id, and rewires every live one after a restart', () => {
    const host = makeHost({ backoffMs: () => 0 });
    host.start();
    const ui = makeUi();
    host.connect(ui, 1);
    host.connect(ui, 2);
    host.onReady(liveWindow()[0].webContents.id);
    const tags = () =>
      portsTo(ui, Push.enginePort).map((p) => [(p.message as { clientId: number }).clientId, p.transfer[0]]);
    expect(tags()).toEqual([
      [1, FakeMessageChannelMain.created[0].port2],
      [2, FakeMessageChannelMain.created[1].port2],
    ]);
    // Status goes once per renderer, not once per client.
    expect(statuses(ui).filter((s) => s.state === 'ready')).toHaveLength(1);

    host.release(ui.id, 1);
    host.connect(ui, 3);
    expect(host.liveClients).toEqual([
      [ui.id, 2],
      [ui.id, 3],
    ]);
    liveWindow()[0].webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
    vi.advanceTimersByTime(0);
    const second = liveWindow()[0];
    host.onReady(second.webContents.id);
    expect(tags().slice(3)).toEqual([
      [2, FakeMessageChannelMain.created[3].port2],
      [3, FakeMessageChannelMain.created[4].port2],
    ]);
    expect(portsTo(second.webContents, InferenceChannel.port).map((p) => p.transfer[0])).toEqual([
      FakeMessageChannelMain.created[3].port1,
      FakeMessageChannelMain.created[4].port1,
    ]);
  });

  it('forgets a renderer and its clients on disconnect, and bounds the clients of one renderer', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    for (let id = 1; id <= MAX_CLIENTS_PER_RENDERER; id++) host.connect(ui, id);
    expect(() => host.connect(ui, MAX_CLIENTS_PER_RENDERER + 1)).toThrow(/too many engine connections/);
    host.connect(ui, 1); // asking again for a known client is fine
    host.disconnect(ui.id);
    expect(host.liveClients).toEqual([]);
    host.onReady(liveWindow()[0].webContents.id);
    expect(FakeMessageChannelMain.created).toHaveLength(0);
  });

  it('a renderer that vanishes while its port is posted is forgotten, the engine keeps going', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    host.connect(ui, 1);
    ui.postMessage = () => {
      throw new Error('Object has been destroyed');
    };
    host.onReady(liveWindow()[0].webContents.id);
    expect(host.liveClients).toEqual([]);
    expect(host.currentStatus).toEqual({ state: 'ready' });
    expect(logs.some((l) => l.includes('could not send a port to webContents'))).toBe(true);
  });

  it('restart(reason, engine) restarts only the engine it names; ports carry their engine number', () => {
    const host = makeHost();
    host.start();
    const ui = makeUi();
    host.connect(ui, 1);
    host.onReady(liveWindow()[0].webContents.id);
    expect(host.currentEngine).toBe(1);
    expect(portsTo(ui, Push.enginePort)[0].message).toEqual({ clientId: 1, engine: 1 });
    expect(host.restart('client A saw a hang', 1)).toBe(true);
    expect(host.currentEngine).toBe(2);
    // Client B saw the same hang of engine 1: ignored, engine 2 lives on.
    const windows = FakeBrowserWindow.instances.length;
    expect(host.restart('client B saw a hang', 1)).toBe(false);
    expect(FakeBrowserWindow.instances).toHaveLength(windows);
    expect(logs.some((l) => l.includes('ignored a restart request for engine 1 (now 2)'))).toBe(true);
    host.onReady(liveWindow()[0].webContents.id);
    expect(portsTo(ui, Push.enginePort)[1].message).toEqual({ clientId: 1, engine: 2 });
    expect(host.restart('no engine named')).toBe(true);
  });
});
