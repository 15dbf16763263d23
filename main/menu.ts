/**
 * Native menus: File (Open Image…, Open Model…, Recent ▸), View (the explorer's view commands plus zoom
 * and full screen), Help ▸ About. Commands go to the UI as `menu:command`; a Recent entry as
 * `menu:open-recent` with its id (the UI then asks main to reopen it by id).
 */
import { Menu, type MenuItemConstructorOptions } from 'electron';
import type { MenuCommand, RecentEntry } from '../common/ipc-contract';

/** What menu items do; the app wires these to the UI window and the state store. */
export interface MenuActions {
  command(command: MenuCommand): void;
  openRecent(id: number): void;
  clearRecent(): void;
}

/** Inputs of the menu template. */
export interface MenuOptions {
  appName: string;
  platform: NodeJS.Platform;
  recent: readonly RecentEntry[];
  /** Show Toggle Developer Tools (development builds only). */
  devTools: boolean;
  actions: MenuActions;
}

/** The Recent submenu: newest first, or a disabled placeholder; then Clear Recent. */
export function recentSubmenu(recent: readonly RecentEntry[], actions: MenuActions): MenuItemConstructorOptions[] {
  const items: MenuItemConstructorOptions[] = recent.length
    ? recent.map((entry) => ({
        id: `recent-${entry.id}`,
        label: `${entry.kind === 'model' ? 'Model: ' : ''}${entry.name.replace(/&/g, '&&')}`,
        toolTip: entry.path,
        click: () => actions.openRecent(entry.id),
      }))
    : [{ label: 'No Recent Files', enabled: false }];
  return [
    ...items,
    { type: 'separator' },
    { id: 'recent-clear', label: 'Clear Recent', enabled: recent.length > 0, click: () => actions.clearRecent() },
  ];
}

/** The whole application menu as a template (pure: tests read it without Electron). */
export function buildMenuTemplate(options: MenuOptions): MenuItemConstructorOptions[] {
  const { actions } = options;
  const isMac = options.platform === 'darwin';
  const send = (command: MenuCommand) => () => actions.command(command);
  const template: MenuItemConstructorOptions[] = [];
  if (isMac) {
    template.push({
      label: options.appName,
      submenu: [
        { label: `About ${options.appName}`, click: send('about') },
        { type: 'separator' },
        { role: 'services' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' },
      ],
    });
  }
  template.push({
    id: 'file',
    label: '&File',
    submenu: [
      { id: 'open-image', label: 'Open Image…', accelerator: 'CmdOrCtrl+O', click: send('open-image') },
      { id: 'open-model', label: 'Open Model…', accelerator: 'CmdOrCtrl+Shift+O', click: send('open-model') },
      { id: 'find-weights', label: 'Find Weights on This Computer…', click: send('find-weights') },
      { id: 'recent', label: 'Recent', submenu: recentSubmenu(options.recent, actions) },
      { type: 'separator' },
      isMac ? { role: 'close' } : { role: 'quit' },
    ],
  });
  template.push({
    id: 'edit',
    label: '&Edit',
    submenu: [{ role: 'copy' }, { role: 'selectAll' }],
  });
  const viewItems: MenuItemConstructorOptions[] = [
    { id: 'reset-view', label: 'Reset View', accelerator: 'CmdOrCtrl+0', click: send('reset-view') },
    { id: 'next-layer', label: 'Next Layer', accelerator: 'CmdOrCtrl+]', click: send('next-layer') },
    { id: 'previous-layer', label: 'Previous Layer', accelerator: 'CmdOrCtrl+[', click: send('previous-layer') },
    { id: 'compare', label: 'Compare Models', accelerator: 'CmdOrCtrl+K', click: send('compare') },
    // Not the bare E the page answers to: a menu accelerator would also fire while typing in a field.
    {
      id: 'edit-architecture',
      label: 'Edit Architecture…',
      accelerator: 'CmdOrCtrl+E',
      click: send('edit-architecture'),
    },
    {
      id: 'toggle-theme',
      label: 'Toggle Light/Dark Theme',
      accelerator: 'CmdOrCtrl+Shift+L',
      click: send('toggle-theme'),
    },
    { type: 'separator' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { role: 'resetZoom', accelerator: 'CmdOrCtrl+Shift+0' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  if (options.devTools) viewItems.push({ type: 'separator' }, { role: 'reload' }, { role: 'toggleDevTools' });
  template.push({ id: 'view', label: '&View', submenu: viewItems });
  template.push({ role: 'windowMenu' });
  template.push({
    id: 'help',
    role: 'help',
    label: '&Help',
    submenu: [{ id: 'about', label: `About ${options.appName}`, click: send('about') }],
  });
  return template;
}

/** Builds the menu and makes it the application menu; call again whenever the recent list changes. */
export function installMenu(options: MenuOptions): Menu {
  const menu = Menu.buildFromTemplate(buildMenuTemplate(options));
  Menu.setApplicationMenu(menu);
  return menu;
}
