/**
 * Injected with page.addInitScript (scripts/bench-app-pass.ts) into the app and the bench page before their own
 * scripts run. On the page's main thread it timestamps every `analyze` request an EngineClient posts on its
 * MessagePort, and the `frame` (or `frames`: several in one message) and `done` replies to it as they are dispatched to the client's listener — the
 * same instant in both pages, so the app's pass and the bench page's are measured alike, with no hook in the app.
 * `window.__passProbe.passes`: one record per analyze request, in order; `longTasks`: the main thread's long tasks.
 */
(() => {
  const passes = [];
  /** MessagePort → (request id → record): two clients may use the same ids on different ports. */
  const byPort = new WeakMap();
  const wrappers = new WeakMap();

  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (message, ...rest) {
    if (message && message.type === 'analyze') {
      const record = {
        modelId: message.modelId,
        requestAt: performance.now(),
        firstFrameAt: null,
        lastFrameAt: null,
        frames: 0,
        doneAt: null,
        timings: null,
        failed: null,
      };
      passes.push(record);
      if (!byPort.has(this)) byPort.set(this, new Map());
      byPort.get(this).set(message.id, record);
    }
    return post.call(this, message, ...rest);
  };

  const add = MessagePort.prototype.addEventListener;
  const remove = MessagePort.prototype.removeEventListener;
  MessagePort.prototype.addEventListener = function (type, listener, options) {
    if (type !== 'message' || typeof listener !== 'function') return add.call(this, type, listener, options);
    const wrapped = (event) => {
      const reply = event.data;
      const record = reply && byPort.get(this)?.get(reply.id);
      if (record) {
        const now = performance.now();
        if (reply.type === 'frame' || reply.type === 'frames') {
          record.frames += reply.type === 'frames' ? reply.frames.length : 1;
          record.firstFrameAt ??= now;
          record.lastFrameAt = now;
        } else if (reply.type === 'done') {
          record.doneAt = now;
          record.timings = reply.timings;
        } else if (reply.type === 'error' || reply.type === 'cancelled') {
          record.failed = reply.type === 'error' ? reply.message : 'cancelled';
        }
      }
      return listener.call(this, event);
    };
    wrappers.set(listener, wrapped);
    return add.call(this, type, wrapped, options);
  };
  MessagePort.prototype.removeEventListener = function (type, listener, options) {
    return remove.call(this, type, wrappers.get(listener) ?? listener, options);
  };

  /** The main thread's long tasks (over 50 ms: start, duration), for what blocked the frames' delivery. */
  const longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    // No long-task timing in this browser: the list stays empty.
  }

  window.__passProbe = { passes, longTasks };
})();
