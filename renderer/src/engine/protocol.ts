/** The engine protocol lives in the pure common/ layer (common/engine-protocol.ts). This module keeps the old import path. */
export * from '../../../common/engine-protocol';
