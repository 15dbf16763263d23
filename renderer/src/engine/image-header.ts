/**
 * The image sniffer and InputError live in the pure common/ layer (common/image-header.ts,
 * common/errors.ts), shared with main; this module keeps the engine's import path.
 */
export * from '../../../common/image-header';
