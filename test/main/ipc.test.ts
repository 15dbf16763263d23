import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import type { IpcMainEvent, IpcMainInvokeEvent } from 'electron';
import * as v from 'valibot';
import { FakeFrame, FakeIpcMain, FakeWebContents, resetFakes } from './fake-electron';
import { IpcRejection, IpcRouter, senderProblem, type IpcRouterOptions, type SenderRole } from '../../main/ipc';
import { InvokeSchemas, InferenceSchemas } from '../../main/schemas';
import { InferenceChannel, Invoke } from '../../common/ipc-contract';
import { APP_ORIGIN } from '../../main/security';

/** An invoke event from `contents`' main frame (or from `frame` when given). */
function eventFrom(contents: FakeWebContents, frame: FakeFrame | null = contents.mainFrame) {
  return { sender: contents, senderFrame: frame } as unknown as IpcMainInvokeEvent & IpcMainEvent;
}

let ipc: FakeIpcMain;
let ui: FakeWebContents;
let inference: FakeWebContents;
let stranger: FakeWebContents;
let logs: string[];
let router: IpcRouter;

beforeEach(async () => {
  resetFakes();
  ipc = new FakeIpcMain();
  ui = new FakeWebContents();
  inference = new FakeWebContents();
  stranger = new FakeWebContents();
  await ui.loadURL('app://explorer/index.html');
  await inference.loadURL('app://explorer/inference.html');
  await stranger.loadURL('app://explorer/index.html');
  logs = [];
  const roles = new Map<number, SenderRole>([
    [ui.id, 'ui'],
    [inference.id, 'inference'],
  ]);
  router = new IpcRouter({
    ipc: ipc as unknown as IpcRouterOptions['ipc'],
    roleOf: (id) => roles.get(id) ?? null,
    trustedOrigins: [APP_ORIGIN],
    log: (m) => logs.push(m),
  });
});

describe('IpcRouter.handle', () => {
  it('passes a well-formed call from the UI main frame to the handler, parsed', async () => {
    const fn = vi.fn((id: number) => ({ opened: id }));
    router.handle(Invoke.recentOpen, InvokeSchemas[Invoke.recentOpen], fn);
    await expect(ipc.invoke(Invoke.recentOpen, eventFrom(ui), 7)).resolves.toEqual({ opened: 7 });
    expect(fn).toHaveBeenCalledWith(7, expect.anything());
    expect(logs).toEqual([]);
  });

  it.each([
    ['a string instead of a number', ['7']],
    ['a fraction', [1.5]],
    ['zero', [0]],
    ['an object', [{ id: 1 }]],
    ['nothing', []],
    ['two arguments', [1, 2]],
  ])('rejects and logs a payload of the wrong shape: %s', async (_what, args) => {
    const fn = vi.fn();
    router.handle(Invoke.recentOpen, InvokeSchemas[Invoke.recentOpen], fn);
    await expect(ipc.invoke(Invoke.recentOpen, eventFrom(ui), ...args)).rejects.toThrow(IpcRejection);
    expect(fn).not.toHaveBeenCalled();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('recent:open');
    expect(logs[0]).toMatch(/bad payload|at most one argument/);
  });

  it('rejects engine:connect payloads that are not { clientId } with a positive integer', async () => {
    const fn = vi.fn();
    router.handle(Invoke.connectEngine, InvokeSchemas[Invoke.connectEngine], fn);
    const bad = [
      undefined,
      {},
      { clientId: 0 },
      { clientId: 1.5 },
      { clientId: '1' },
      { clientId: 2 ** 31 },
      { clientId: 1, path: '/etc' },
    ];
    for (const payload of bad)
      await expect(ipc.invoke(Invoke.connectEngine, eventFrom(ui), payload)).rejects.toThrow(/bad payload/);
    expect(fn).not.toHaveBeenCalled();
    await ipc.invoke(Invoke.connectEngine, eventFrom(ui), { clientId: 7 });
    expect(fn).toHaveBeenCalledWith({ clientId: 7 }, expect.anything());
  });

  it('no invoke channel of the contract takes a path', () => {
    expect(Object.values(Invoke)).not.toContain('file:read-dropped');
    for (const schema of Object.values(InvokeSchemas)) {
      for (const probe of ['/home/u/.ssh/id_rsa', { paths: ['/home/u/.ssh/id_rsa'] }, { path: '/etc/passwd' }])
        expect(v.safeParse(schema, probe).success).toBe(false);
    }
  });

  it('rejects an argument on a channel that takes none', async () => {
    router.handle(Invoke.appInfo, InvokeSchemas[Invoke.appInfo], () => 'info');
    await expect(ipc.invoke(Invoke.appInfo, eventFrom(ui), { sneaky: 1 })).rejects.toThrow(/takes no argument/);
    await expect(ipc.invoke(Invoke.appInfo, eventFrom(ui))).resolves.toBe('info');
  });

  it('rejects and logs an unknown channel', async () => {
    await expect(router.invoke('fs:read-anything', eventFrom(ui), ['/etc/passwd'])).rejects.toThrow(/unknown channel/);
    expect(logs[0]).toMatch(/"fs:read-anything".*unknown channel/);
    // And refuses to serve a channel that is not in the contract at all.
    expect(() => router.handle('fs:read-anything', v.string(), () => 1)).toThrow(/not an invoke channel/);
  });

  it('rejects and logs a sender that is not one of our windows', async () => {
    const fn = vi.fn();
    router.handle(Invoke.recentList, InvokeSchemas[Invoke.recentList], fn);
    await expect(ipc.invoke(Invoke.recentList, eventFrom(stranger))).rejects.toThrow(/not one of our windows/);
    expect(fn).not.toHaveBeenCalled();
    expect(logs[0]).toContain(`webContents ${stranger.id}`);
  });

  it('rejects the inference window on a UI channel', async () => {
    router.handle(Invoke.recentList, InvokeSchemas[Invoke.recentList], () => []);
    await expect(ipc.invoke(Invoke.recentList, eventFrom(inference))).rejects.toThrow(
      /inference window, not the ui window/,
    );
  });

  it('rejects a sub-frame of our own window', async () => {
    const fn = vi.fn();
    router.handle(Invoke.recentList, InvokeSchemas[Invoke.recentList], fn);
    const child = new FakeFrame('app://explorer/index.html', ui.mainFrame.processId, 2);
    child.parent = ui.mainFrame;
    await expect(ipc.invoke(Invoke.recentList, eventFrom(ui, child))).rejects.toThrow(/sub-frame/);
    // A frame object claiming no parent but with another routing id is not the main frame either.
    const impostor = new FakeFrame('app://explorer/index.html', ui.mainFrame.processId, 99);
    await expect(ipc.invoke(Invoke.recentList, eventFrom(ui, impostor))).rejects.toThrow(/sub-frame/);
    expect(fn).not.toHaveBeenCalled();
    expect(logs).toHaveLength(2);
  });

  it('rejects our window once it shows a page that is not ours, or when its frame is gone', async () => {
    router.handle(Invoke.recentList, InvokeSchemas[Invoke.recentList], () => []);
    ui.mainFrame.url = 'https://example.com/';
    await expect(ipc.invoke(Invoke.recentList, eventFrom(ui))).rejects.toThrow(/not one of ours/);
    await expect(ipc.invoke(Invoke.recentList, eventFrom(ui, null))).rejects.toThrow(/frame is gone/);
  });

  it('logs and rethrows a handler failure with its message', async () => {
    router.handle(Invoke.recentOpen, InvokeSchemas[Invoke.recentOpen], () => {
      throw new Error('/home/u/cat.png: file not found');
    });
    await expect(ipc.invoke(Invoke.recentOpen, eventFrom(ui), 1)).rejects.toThrow('/home/u/cat.png: file not found');
    expect(logs[0]).toContain('/home/u/cat.png: file not found');
  });

  it('dispose removes every handler', () => {
    router.handle(Invoke.recentList, InvokeSchemas[Invoke.recentList], () => []);
    router.on(InferenceChannel.ready, InferenceSchemas[InferenceChannel.ready], () => {});
    router.dispose();
    expect(ipc.handlers.size).toBe(0);
    expect(ipc.listenerCount(InferenceChannel.ready)).toBe(0);
  });
});

describe('IpcRouter.on (inference window messages)', () => {
  it('accepts ready/fatal from the inference window only', () => {
    const ready = vi.fn();
    const fatal = vi.fn();
    router.on(InferenceChannel.ready, InferenceSchemas[InferenceChannel.ready], ready);
    router.on(InferenceChannel.fatal, InferenceSchemas[InferenceChannel.fatal], fatal);
    ipc.emit(InferenceChannel.ready, eventFrom(inference), 'webgl');
    expect(ready).toHaveBeenCalledWith('webgl', expect.anything());
    ipc.emit(InferenceChannel.ready, eventFrom(ui));
    ipc.emit(InferenceChannel.fatal, eventFrom(stranger), 'x');
    ipc.emit(InferenceChannel.fatal, eventFrom(inference), 42);
    ipc.emit(InferenceChannel.fatal, eventFrom(inference), '');
    expect(ready).toHaveBeenCalledTimes(1);
    expect(fatal).not.toHaveBeenCalled();
    expect(logs).toHaveLength(4);
    ipc.emit(InferenceChannel.fatal, eventFrom(inference), 'WebGL context lost twice');
    expect(fatal).toHaveBeenCalledWith('WebGL context lost twice', expect.anything());
  });

  it('watchUnknown logs sends on channels nobody serves and answers sendSync with null', () => {
    router.on(InferenceChannel.ready, InferenceSchemas[InferenceChannel.ready], () => {});
    router.watchUnknown(ui as never);
    ui.emit('ipc-message', eventFrom(ui), 'shell:open-external', 'https://example.com');
    ui.emit('ipc-message', eventFrom(ui), InferenceChannel.ready);
    const syncEvent = { ...eventFrom(ui), returnValue: 'unset' as unknown };
    ui.emit('ipc-message-sync', syncEvent, 'fs:read-sync');
    expect(syncEvent.returnValue).toBeNull();
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatch(/"shell:open-external".*unknown channel/);
    expect(logs[1]).toMatch(/"fs:read-sync".*synchronous/);
  });
});

describe('senderProblem', () => {
  it('is null only for the right role, main frame and origin', () => {
    const roleOf = (id: number): SenderRole | null => (id === ui.id ? 'ui' : null);
    expect(senderProblem(eventFrom(ui), 'ui', roleOf, [APP_ORIGIN])).toBeNull();
    expect(senderProblem(eventFrom(ui), 'inference', roleOf, [APP_ORIGIN])).toMatch(/not the inference window/);
    expect(senderProblem(eventFrom(ui), 'ui', roleOf, ['http://localhost:5173'])).toMatch(/not one of ours/);
  });
});
