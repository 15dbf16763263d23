/**
 * electron-builder `afterPack` hook: flips Electron's fuses in the packaged binary with @electron/fuses,
 * after the app is packed and before electron-builder signs it (flipping changes the binary, so it must
 * come first). The fuses turn off what a packaged app never needs and an attacker would love: running
 * the binary as plain Node, NODE_OPTIONS, --inspect, loading an app from outside app.asar, and extra
 * file:// privileges (our pages come over app://); and turn on checking app.asar against the hash
 * electron-builder embeds (macOS Info.plist, Windows resource), and cookie encryption.
 * See electron/electron docs/tutorial/fuses.md.
 */
import { join } from 'node:path';
import { flipFuses, FuseV1Options, FuseVersion } from '@electron/fuses';

/**
 * Every fuse of the V1 wire, set explicitly (`strictlyRequireAllFuses`: a fuse that a later Electron adds
 * stops the build until someone decides its value here).
 * @type {Readonly<Record<keyof typeof FuseV1Options, boolean>>}
 */
export const FUSES = Object.freeze({
  RunAsNode: false,
  EnableCookieEncryption: true,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  LoadBrowserProcessSpecificV8Snapshot: false,
  GrantFileProtocolExtraPrivileges: false,
  WasmTrapHandlers: true,
});

/** electron-builder's Arch enum value for arm64 (its `Arch` is numeric: ia32 0, x64 1, armv7l 2, arm64 3, universal 4). */
const ARCH_ARM64 = 3;

/**
 * The @electron/fuses config for one packaged app.
 * @param {{ electronPlatformName: string, arch: number }} context
 */
export function fuseConfig(context) {
  /** @type {Record<string | number, unknown>} */
  const config = {
    version: FuseVersion.V1,
    strictlyRequireAllFuses: true,
    // Flipping invalidates the ad-hoc signature arm64 macOS needs to launch an unsigned build at all;
    // a real signature (electron-builder signs after this hook) replaces it.
    resetAdHocDarwinSignature: isMac(context.electronPlatformName) && context.arch === ARCH_ARM64,
  };
  for (const [name, value] of Object.entries(FUSES)) {
    const index = FuseV1Options[/** @type {keyof typeof FuseV1Options} */ (name)];
    if (index === undefined) throw new Error(`after-pack: @electron/fuses knows no fuse named ${name}`);
    config[index] = value;
  }
  return config;
}

/** @param {string} platform */
function isMac(platform) {
  return platform === 'darwin' || platform === 'mas';
}

/**
 * Where the packaged Electron binary is (the .app bundle on macOS), the way electron-builder names it.
 * @param {{ appOutDir: string, electronPlatformName: string, packager: { appInfo: { productFilename: string }, executableName?: string } }} context
 */
export function electronBinaryPath(context) {
  const { appOutDir, electronPlatformName, packager } = context;
  if (isMac(electronPlatformName)) return join(appOutDir, `${packager.appInfo.productFilename}.app`);
  if (electronPlatformName === 'win32') return join(appOutDir, `${packager.appInfo.productFilename}.exe`);
  if (electronPlatformName === 'linux') {
    if (!packager.executableName) throw new Error('after-pack: the Linux packager has no executableName');
    return join(appOutDir, packager.executableName);
  }
  throw new Error(`after-pack: unknown platform ${electronPlatformName}`);
}

/**
 * The hook electron-builder calls (electron-builder.yml: `afterPack`).
 * @param {Parameters<typeof electronBinaryPath>[0] & { arch: number }} context
 */
export default async function afterPack(context) {
  const binary = electronBinaryPath(context);
  console.log(`  • after-pack: flipping Electron fuses in ${binary}`);
  await flipFuses(binary, /** @type {Parameters<typeof flipFuses>[1]} */ (fuseConfig(context)));
}
