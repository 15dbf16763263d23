/**
 * Cancel while a user's model file opens (the toolbar's progress line): the engine is sent a cancel for that
 * load request, the model that was on screen stays selected and shown, and the toolbar says the open was
 * cancelled. A load the user did not cancel (replaced by a newer one) says nothing of the kind.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import AppToolbar from '../../renderer/src/explorer/components/AppToolbar.vue';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import type { EngineReply, EngineRequest } from '../../common/engine-protocol';
import { FakeEngine, fakeBridge, settle } from './fake-engine';

/** An engine whose user-model opens report their bytes and then stay in the open step until cancelled. */
class OpeningEngine extends FakeEngine {
  private readonly mine = new Set<(ev: MessageEvent) => void>();
  addEventListener(t: 'message', l: (ev: MessageEvent) => void): void {
    super.addEventListener(t, l);
    this.mine.add(l);
  }
  removeEventListener(t: 'message', l: (ev: MessageEvent) => void): void {
    super.removeEventListener(t, l);
    this.mine.delete(l);
  }
  postMessage(message: unknown): void {
    const req = message as EngineRequest;
    if (req.type !== 'loadUserModel') return super.postMessage(message);
    this.requests.push(req);
    const total = req.model.files.reduce((n, f) => n + f.bytes.byteLength, 0);
    const replies: EngineReply[] = [
      { type: 'progress', id: req.id, phase: 'fetch', loaded: total, total, detail: '1 file(s)' },
      { type: 'progress', id: req.id, phase: 'build', loaded: 0, total: 1, detail: req.model.name },
    ];
    for (const r of replies) setTimeout(() => this.mine.forEach((l) => l({ data: r } as MessageEvent)), 0);
  }
}

const vgg = { name: 'vgg16.pth', files: [{ path: 'vgg16.pth', bytes: new ArrayBuffer(4096) }] };

async function onTiny(engine: FakeEngine) {
  const store = useSessionStore();
  await store.connect(fakeBridge(engine));
  await store.selectModel('tiny');
  await settle();
  return store;
}

describe('cancelling the open of a model file', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('Cancel during the open keeps the previous model selected and says the open was cancelled', async () => {
    const engine = new OpeningEngine();
    const store = await onTiny(engine);
    const frames = store.frames;
    const w = mount(AppToolbar, { props: { colorMap: 'auto', normalize: 'channel' } });
    const opening = store.loadUserModel(vgg);
    await settle();
    expect(w.get('[role="progressbar"]').text()).toContain('Opening vgg16.pth…');

    await w.get('[data-testid="cancel-load"]').trigger('click');
    await opening;
    await settle();

    const load = engine.requests.find((r) => r.type === 'loadUserModel')!;
    expect(engine.requests).toContainEqual(expect.objectContaining({ type: 'cancel', target: load.id }));
    expect(store.modelId).toBe('tiny');
    expect(store.summary?.id).toBe('tiny');
    expect(store.frames).toBe(frames);
    expect((w.get('[data-testid="model-select"]').element as HTMLSelectElement).value).toBe('tiny');
    expect(store.models.map((m) => m.id)).toEqual(['tiny']);
    expect(w.find('[role="progressbar"]').exists()).toBe(false);
    expect(w.get('[data-testid="load-note"]').text()).toBe('Opening vgg16.pth cancelled');
    expect(store.notice).toBeNull();

    // The next load clears the note.
    await store.selectModel('tiny');
    await settle();
    expect(w.find('[data-testid="load-note"]').exists()).toBe(false);
  });

  it('an open replaced by a newer load is not reported as cancelled', async () => {
    const engine = new OpeningEngine();
    const store = await onTiny(engine);
    const opening = store.loadUserModel(vgg);
    await settle();
    await store.selectModel('tiny');
    await opening;
    await settle();
    expect(store.modelId).toBe('tiny');
    expect(store.loadNote).toBeNull();
    expect(store.notice).toBeNull();
  });
});
