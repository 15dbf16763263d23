/** The engine client lives in the pure common/ layer (common/engine-client.ts). This module keeps the old import path. */
export * from '../../../common/engine-client';
