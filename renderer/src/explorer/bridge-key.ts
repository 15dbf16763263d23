import type { InjectionKey } from 'vue';
import type { HostBridge } from '../bridge/types';

/** The host bridge (Electron or web), provided once at startup. */
export const BRIDGE_KEY: InjectionKey<HostBridge> = Symbol('host-bridge');
