/**
 * valibot schemas for every IPC payload main accepts (STYLE.md #6). Each invoke channel takes at most one
 * argument; channels without one accept only `undefined`.
 */
import * as v from 'valibot';
import { InferenceChannel, Invoke, type InvokeChannel } from '../common/ipc-contract';

/** Longest path we accept from a renderer (PATH_MAX on Linux). */
export const MAX_PATH_LENGTH = 4096;
/** An absolute-or-not file path string: non-empty, bounded, no NUL byte. */
export const PathSchema = v.pipe(
  v.string('a path must be a string'),
  v.minLength(1, 'a path must not be empty'),
  v.maxLength(MAX_PATH_LENGTH, `a path must be at most ${MAX_PATH_LENGTH} characters`),
  v.check((p) => !p.includes('\0'), 'a path must not contain a NUL byte'),
);

/** No argument at all. */
export const NoPayload = v.undefined('this call takes no argument');

/** A recent entry's id. */
export const RecentIdSchema = v.pipe(
  v.number('a recent entry id must be a number'),
  v.integer('a recent entry id must be an integer'),
  v.minValue(1, 'a recent entry id is at least 1'),
  v.maxValue(Number.MAX_SAFE_INTEGER),
);

/** `EngineClientRequest`: `{ clientId }`, a positive 31-bit integer. */
export const EngineClientSchema = v.strictObject(
  {
    clientId: v.pipe(
      v.number('clientId must be a number'),
      v.integer('clientId must be an integer'),
      v.minValue(1, 'clientId is at least 1'),
      v.maxValue(2 ** 31 - 1, 'clientId is at most 2^31 - 1'),
    ),
  },
  'expected { clientId: number }',
);

/** `TransferChunkRequest`. */
export const TransferChunkSchema = v.strictObject(
  {
    token: v.pipe(v.string('token must be a string'), v.uuid('token must be a transfer id')),
    index: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)),
    offset: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
  },
  'expected { token, index, offset }',
);

/** `RestartEngineRequest`, or nothing. */
export const RestartEngineSchema = v.optional(
  v.strictObject(
    {
      reason: v.optional(
        v.pipe(v.string('reason must be a string'), v.maxLength(500, 'reason is at most 500 characters')),
      ),
      engine: v.optional(
        v.pipe(
          v.number('engine must be a number'),
          v.integer('engine must be an integer'),
          v.minValue(1),
          v.maxValue(2 ** 31 - 1),
        ),
      ),
    },
    'expected { reason?: string, engine?: number }',
  ),
);

/** The payload schema of each invoke channel. Adding a channel to the contract without a schema fails to compile. */
export const InvokeSchemas = {
  [Invoke.openImageDialog]: NoPayload,
  [Invoke.openModelDialog]: NoPayload,
  [Invoke.recentList]: NoPayload,
  [Invoke.recentOpen]: RecentIdSchema,
  [Invoke.readTransfer]: TransferChunkSchema,
  [Invoke.appInfo]: NoPayload,
  [Invoke.restartEngine]: RestartEngineSchema,
  [Invoke.connectEngine]: EngineClientSchema,
  [Invoke.releaseEngine]: EngineClientSchema,
  [Invoke.engineStatus]: NoPayload,
  [Invoke.findWeights]: NoPayload,
  [Invoke.foundWeights]: NoPayload,
  [Invoke.openFoundWeights]: RecentIdSchema,
} satisfies Record<InvokeChannel, v.GenericSchema>;

/** `inference:ready`: optionally the backend the engine chose. */
export const InferenceReadySchema = v.optional(v.pipe(v.string('backend must be a string'), v.maxLength(200)));
/** `inference:fatal`: why the engine cannot go on. */
export const InferenceFatalSchema = v.pipe(
  v.string('a fatal reason must be a string'),
  v.minLength(1, 'a fatal reason must not be empty'),
  v.maxLength(2000, 'a fatal reason must be at most 2000 characters'),
);

/** Payload schemas of the channels the inference window sends on. */
export const InferenceSchemas = {
  [InferenceChannel.ready]: InferenceReadySchema,
  [InferenceChannel.fatal]: InferenceFatalSchema,
} as const;
