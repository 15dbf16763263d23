/** The IPC contract lives in the pure common/ layer (common/ipc-contract.ts); this keeps the old import path. */
export * from '../common/ipc-contract';
