/**
 * Validated IPC (STYLE.md #6, after VS Code's validated ipcMain): every call must come from the main frame
 * of one of our windows showing one of our pages, on a channel of the contract, with a payload that parses
 * against its schema. Anything else is rejected and logged.
 */
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents, WebFrameMain } from 'electron';
import * as v from 'valibot';
import { InferenceChannel, Invoke } from '../common/ipc-contract';
import { isTrustedUrl } from './security';

/** Which of our windows a webContents is. */
export type SenderRole = 'ui' | 'inference';

/** Answers which of our windows (if any) a webContents id belongs to. */
export type SenderLookup = (webContentsId: number) => SenderRole | null;

/** The parts of an IPC event the checks read (IpcMainInvokeEvent and IpcMainEvent both fit). */
export type IpcEventLike = Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>;

const INVOKE_CHANNELS: ReadonlySet<string> = new Set(Object.values(Invoke));
const INFERENCE_CHANNELS: ReadonlySet<string> = new Set([InferenceChannel.ready, InferenceChannel.fatal]);

/** Thrown (and so sent back to the renderer as a rejected promise) when a call is refused. */
export class IpcRejection extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpcRejection';
  }
}

/**
 * Why `event` may not use a channel reserved to `role`, or null when it may: the sender must be one of our
 * webContents with that role, the frame must still exist, be the top-level frame of that webContents (no
 * iframe, however it got there) and show a page from one of our origins.
 */
export function senderProblem(
  event: IpcEventLike,
  role: SenderRole,
  roleOf: SenderLookup,
  trustedOrigins: readonly string[],
): string | null {
  const contents = event.sender;
  const actual = roleOf(contents.id);
  if (actual === null) return `webContents ${contents.id} is not one of our windows`;
  if (actual !== role) return `webContents ${contents.id} is the ${actual} window, not the ${role} window`;
  const frame: WebFrameMain | null = event.senderFrame;
  if (!frame) return 'the sending frame is gone';
  const main = contents.mainFrame;
  if (frame.parent !== null || frame.processId !== main.processId || frame.routingId !== main.routingId) {
    return `a sub-frame (${frame.url}) may not call main`;
  }
  if (!isTrustedUrl(frame.url, trustedOrigins)) return `the page ${frame.url} is not one of ours`;
  return null;
}

/** Handler of an invoke channel: gets the parsed payload and the event. */
export type InvokeHandler<S extends v.GenericSchema> = (
  payload: v.InferOutput<S>,
  event: IpcMainInvokeEvent,
) => unknown | Promise<unknown>;

/** Listener of a channel the inference window sends on. */
export type SendListener<S extends v.GenericSchema> = (payload: v.InferOutput<S>, event: IpcMainEvent) => void;

interface Route {
  role: SenderRole;
  schema: v.GenericSchema;
  fn: (payload: unknown, event: IpcMainInvokeEvent | IpcMainEvent) => unknown;
}

/** Options of {@link IpcRouter}. */
export interface IpcRouterOptions {
  ipc: Pick<IpcMain, 'handle' | 'removeHandler' | 'on' | 'removeListener'>;
  roleOf: SenderLookup;
  trustedOrigins: readonly string[];
  log?: (message: string) => void;
}

/**
 * Registers validated handlers on ipcMain. `handle(channel, schema, fn)` for the UI's invoke channels,
 * `on(channel, schema, fn)` for the inference window's one-way messages.
 */
export class IpcRouter {
  private readonly invokeRoutes = new Map<string, Route>();
  private readonly sendRoutes = new Map<string, Route>();
  private readonly sendListeners = new Map<string, (event: IpcMainEvent, ...args: unknown[]) => void>();
  private readonly log: (message: string) => void;

  constructor(private readonly options: IpcRouterOptions) {
    this.log = options.log ?? ((m) => console.warn(`[ipc] ${m}`));
  }

  /** Serves an invoke channel of the contract; only the UI window may call it. */
  handle<S extends v.GenericSchema>(channel: string, schema: S, fn: InvokeHandler<S>): void {
    if (!INVOKE_CHANNELS.has(channel))
      throw new Error(`IpcRouter.handle: "${channel}" is not an invoke channel of the contract`);
    if (this.invokeRoutes.has(channel)) throw new Error(`IpcRouter.handle: "${channel}" is already handled`);
    this.invokeRoutes.set(channel, { role: 'ui', schema, fn: fn as Route['fn'] });
    this.options.ipc.handle(channel, (event, ...args) => this.invoke(channel, event, args));
  }

  /** Listens on a channel the inference window sends on; only that window may use it. */
  on<S extends v.GenericSchema>(channel: string, schema: S, fn: SendListener<S>): void {
    if (!INFERENCE_CHANNELS.has(channel))
      throw new Error(`IpcRouter.on: "${channel}" is not an inference channel of the contract`);
    if (this.sendRoutes.has(channel)) throw new Error(`IpcRouter.on: "${channel}" is already handled`);
    this.sendRoutes.set(channel, { role: 'inference', schema, fn: fn as Route['fn'] });
    const listener = (event: IpcMainEvent, ...args: unknown[]) => this.receive(channel, event, args);
    this.sendListeners.set(channel, listener);
    this.options.ipc.on(channel, listener);
  }

  /**
   * Runs an invoke call through the checks. Rejects (with the reason, also logged) on an unknown channel,
   * a foreign or sub-frame sender, or a payload of the wrong shape.
   */
  async invoke(channel: string, event: IpcMainInvokeEvent, args: unknown[]): Promise<unknown> {
    const route = this.invokeRoutes.get(channel);
    if (!route) throw this.reject(channel, event, 'unknown channel');
    const payload = this.check(channel, route, event, args);
    try {
      return await route.fn(payload, event);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log(`${channel} failed: ${message}`);
      throw err instanceof Error ? err : new Error(message);
    }
  }

  /** Runs a one-way message through the same checks; refusals are logged and dropped. */
  receive(channel: string, event: IpcMainEvent, args: unknown[]): boolean {
    const route = this.sendRoutes.get(channel);
    try {
      if (!route) throw this.reject(channel, event, 'unknown channel');
      const payload = this.check(channel, route, event, args);
      route.fn(payload, event);
      return true;
    } catch (err) {
      if (!(err instanceof IpcRejection))
        this.log(`${channel} failed: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  }

  /**
   * Logs messages a window sends on channels nobody serves (`ipcRenderer.send`/`sendSync`): our preloads
   * only use the contract's channels, so anything else means a page is probing. A `sendSync` on an unknown
   * channel is answered with null so the renderer does not hang.
   */
  watchUnknown(contents: WebContents): void {
    contents.on('ipc-message', (event, channel) => {
      if (!this.sendRoutes.has(channel)) this.reject(channel, event, 'unknown channel (send)');
    });
    contents.on('ipc-message-sync', (event, channel) => {
      this.reject(channel, event, 'synchronous IPC is not served');
      event.returnValue = null;
    });
  }

  /** Removes every handler and listener this router registered. */
  dispose(): void {
    for (const channel of this.invokeRoutes.keys()) this.options.ipc.removeHandler(channel);
    for (const [channel, listener] of this.sendListeners) this.options.ipc.removeListener(channel, listener);
    this.invokeRoutes.clear();
    this.sendRoutes.clear();
    this.sendListeners.clear();
  }

  private check(channel: string, route: Route, event: IpcEventLike, args: unknown[]): unknown {
    const problem = senderProblem(event, route.role, this.options.roleOf, this.options.trustedOrigins);
    if (problem) throw this.reject(channel, event, problem);
    if (args.length > 1) throw this.reject(channel, event, `expected at most one argument, got ${args.length}`);
    const parsed = v.safeParse(route.schema, args[0]);
    if (!parsed.success)
      throw this.reject(channel, event, `bad payload: ${v.summarize(parsed.issues).replace(/\n/g, '; ')}`);
    return parsed.output;
  }

  private reject(channel: string, event: Pick<IpcEventLike, 'sender'>, reason: string): IpcRejection {
    const message = `IPC "${channel}" from webContents ${event.sender?.id ?? '?'} rejected: ${reason}`;
    this.log(message);
    return new IpcRejection(message);
  }
}
