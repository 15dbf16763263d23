import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import type { MenuItemConstructorOptions } from 'electron';
import { Menu, resetFakes } from './fake-electron';
import { buildMenuTemplate, installMenu, type MenuActions } from '../../main/menu';
import type { RecentEntry } from '../../common/ipc-contract';

const recent: RecentEntry[] = [
  { id: 4, kind: 'image', name: 'chelsea.png', path: '/p/chelsea.png', openedAt: 2 },
  { id: 2, kind: 'model', name: 'my-net', path: '/m/model.json', openedAt: 1 },
];

function actions() {
  return { command: vi.fn(), openRecent: vi.fn(), clearRecent: vi.fn() } satisfies MenuActions;
}

const sub = (item: MenuItemConstructorOptions | undefined) => (item?.submenu ?? []) as MenuItemConstructorOptions[];
const byLabel = (items: MenuItemConstructorOptions[], label: string) => items.find((i) => i.label === label);
const click = (item: MenuItemConstructorOptions | undefined) => (item!.click as unknown as () => void)();

beforeEach(() => resetFakes());

describe('menu template', () => {
  it('has File ▸ Open Image…, Open Model…, Find Weights…, Recent; View; Help ▸ About', () => {
    const a = actions();
    const t = buildMenuTemplate({
      appName: 'Feature Map Explorer',
      platform: 'linux',
      recent,
      devTools: false,
      actions: a,
    });
    const file = byLabel(t, '&File');
    const view = byLabel(t, '&View');
    const help = byLabel(t, '&Help');
    expect(file && view && help).toBeTruthy();
    const labels = sub(file).map((i) => i.label);
    expect(labels.slice(0, 4)).toEqual(['Open Image…', 'Open Model…', 'Find Weights on This Computer…', 'Recent']);
    (sub(file)[2].click as unknown as () => void)();
    expect(a.command).toHaveBeenLastCalledWith('find-weights');
    expect(sub(view).map((i) => i.label)).toEqual(
      expect.arrayContaining([
        'Reset View',
        'Next Layer',
        'Previous Layer',
        'Compare Models',
        'Edit Architecture…',
        'Toggle Light/Dark Theme',
      ]),
    );
    expect(sub(help).map((i) => i.label)).toEqual(['About Feature Map Explorer']);

    click(byLabel(sub(file), 'Open Image…'));
    click(byLabel(sub(file), 'Open Model…'));
    click(byLabel(sub(view), 'Next Layer'));
    click(sub(help)[0]);
    expect(a.command.mock.calls.map((c) => c[0])).toEqual([
      'find-weights',
      'open-image',
      'open-model',
      'next-layer',
      'about',
    ]);
  });

  it('lists recent entries newest first; a click sends the id, never a path', () => {
    const a = actions();
    const t = buildMenuTemplate({ appName: 'X', platform: 'win32', recent, devTools: false, actions: a });
    const items = sub(byLabel(sub(byLabel(t, '&File')), 'Recent'));
    expect(items.map((i) => i.label)).toEqual(['chelsea.png', 'Model: my-net', undefined, 'Clear Recent']);
    click(items[1]);
    expect(a.openRecent).toHaveBeenCalledWith(2);
    click(items[3]);
    expect(a.clearRecent).toHaveBeenCalled();
  });

  it('shows a disabled placeholder when there is nothing recent', () => {
    const t = buildMenuTemplate({ appName: 'X', platform: 'linux', recent: [], devTools: false, actions: actions() });
    const items = sub(byLabel(sub(byLabel(t, '&File')), 'Recent'));
    expect(items[0]).toMatchObject({ label: 'No Recent Files', enabled: false });
    expect(items.at(-1)).toMatchObject({ label: 'Clear Recent', enabled: false });
  });

  it('escapes & in file names so they are not read as mnemonics', () => {
    const t = buildMenuTemplate({
      appName: 'X',
      platform: 'linux',
      recent: [{ id: 1, kind: 'image', name: 'cats & dogs.png', path: '/p', openedAt: 1 }],
      devTools: false,
      actions: actions(),
    });
    expect(sub(byLabel(sub(byLabel(t, '&File')), 'Recent'))[0].label).toBe('cats && dogs.png');
  });

  it('adds the app menu on macOS and DevTools only in development', () => {
    const mac = buildMenuTemplate({
      appName: 'Feature Map Explorer',
      platform: 'darwin',
      recent,
      devTools: false,
      actions: actions(),
    });
    expect(mac[0].label).toBe('Feature Map Explorer');
    const roles = (t: MenuItemConstructorOptions[]) => sub(byLabel(t, '&View')).map((i) => i.role);
    expect(roles(mac)).not.toContain('toggleDevTools');
    const dev = buildMenuTemplate({ appName: 'X', platform: 'linux', recent, devTools: true, actions: actions() });
    expect(roles(dev)).toContain('toggleDevTools');
  });

  it('installMenu builds and sets the application menu', () => {
    const menu = installMenu({ appName: 'X', platform: 'linux', recent, devTools: false, actions: actions() });
    expect(Menu.buildFromTemplate).toHaveBeenCalledTimes(1);
    expect(Menu.setApplicationMenu).toHaveBeenCalledWith(menu);
  });
});
