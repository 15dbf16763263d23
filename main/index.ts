/**
 * Main-process entry: registers the app:// scheme (before ready, as Electron requires), enforces the
 * sandbox for every renderer, keeps a single instance, and starts the application once Electron is ready.
 * Everything else lives in main/app.ts.
 */
import { app } from 'electron';
import { defaultAppPaths, ExplorerApp, registerAppScheme } from './app';

registerAppScheme();
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  // Another instance is running; it focuses its window on 'second-instance'.
  app.quit();
} else {
  const explorer = new ExplorerApp({
    paths: defaultAppPaths(),
    devServerUrl: process.env.ELECTRON_RENDERER_URL,
    isPackaged: app.isPackaged,
  });
  app
    .whenReady()
    .then(() => explorer.start())
    .catch((err: unknown) => {
      console.error('[main] failed to start:', err);
      app.exit(1);
    });
}
