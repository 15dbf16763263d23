/** The engine protocol's runtime validation lives in the pure common/ layer. This module keeps the old import path. */
export * from '../../../common/engine-protocol-schema';
