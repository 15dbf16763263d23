/**
 * The first screen explains itself: a one-line hint of what the app is and what to do (visible on a first start,
 * dismissable, remembered, out of the way once the user acts), and the backend line in plain words with the
 * technical detail on hover. The engine's reasons below are the strings engine.ts builds (`tryBackend`,
 * `switchBackend`, `fallbackFromWebgl`) with the GL renderer strings Chromium reports for SwiftShader, Mesa's
 * llvmpipe and an NVIDIA GPU.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import NoticeBanner from '../../renderer/src/explorer/components/NoticeBanner.vue';
import StatusBar from '../../renderer/src/explorer/components/StatusBar.vue';
import { WELCOME_DISMISSED_KEY } from '../../renderer/src/explorer/components/WelcomeHint.vue';
import type { BackendName, EngineReply, EngineRequest, PortLike } from '../../common/engine-protocol';
import { FakeEngine, fakeBridge, settle } from './fake-engine';

function png(name: string) {
  return { name, bytes: new Uint8Array([137, 80, 78, 71]).buffer };
}

/** The scripted engine, answering hello with the backend and reason a test gives. */
class BackendEngine implements PortLike {
  private readonly inner = new FakeEngine();
  private listeners = new Set<(ev: MessageEvent) => void>();
  constructor(
    private readonly backend: BackendName,
    private readonly reason: string,
  ) {}
  addEventListener(t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.add(l);
    this.inner.addEventListener(t, l);
  }
  removeEventListener(t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.delete(l);
    this.inner.removeEventListener(t, l);
  }
  start(): void {}
  postMessage(message: unknown): void {
    const req = message as EngineRequest;
    if (req.type !== 'hello') return this.inner.postMessage(message);
    const r: EngineReply = {
      type: 'ready',
      id: req.id,
      backend: this.backend,
      reason: this.reason,
      models: [],
      tfjsVersion: '4.22.0',
    };
    setTimeout(() => this.listeners.forEach((l) => l({ data: r } as MessageEvent)));
  }
}

const SWIFTSHADER =
  'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver-5.0.0)';
const LLVMPIPE = 'llvmpipe (LLVM 15.0.6, 256 bits)';
const NVIDIA = 'ANGLE (NVIDIA Corporation, NVIDIA H100 80GB HBM3/PCIe/SSE2, OpenGL 4.5.0)';

describe('first-screen hint', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
  });
  afterEach(() => vi.unstubAllGlobals());

  it('on a first start says what the app is and what to do, and stays through the start-up sample', async () => {
    vi.stubGlobal('fetch', async () => ({ ok: true, status: 200, arrayBuffer: async () => png('chelsea.png').bytes }));
    const store = useSessionStore();
    const w = mount(NoticeBanner);
    const hint = w.get('[data-testid="welcome-hint"]');
    expect(hint.text()).toMatch(/See inside a convolutional network, layer by layer\./);
    // What to do, in the order a student does it, words separated as a reader sees them.
    expect(hint.text().replace(/\s+/g, ' ')).toContain(
      'layer by layer. Drop a photo on the window (or Open image…), pick a model in the toolbar, ' +
        'step through the layers with ← / →, and hover a unit to see which part of the photo it looks at',
    );
    await store.start(fakeBridge(new FakeEngine()), { model: 'tiny', sample: 'chelsea.png' });
    await settle();
    expect(store.activeImage?.name).toBe('chelsea.png');
    expect(w.find('[data-testid="welcome-hint"]').exists()).toBe(true);
    expect(localStorage.getItem(WELCOME_DISMISSED_KEY)).toBeNull();
  });

  it('is dismissed with its button, and stays dismissed in the next session', async () => {
    const w = mount(NoticeBanner);
    await w.get('[data-testid="welcome-dismiss"]').trigger('click');
    expect(w.find('[data-testid="welcome-hint"]').exists()).toBe(false);
    expect(localStorage.getItem(WELCOME_DISMISSED_KEY)).toBe('1');
    setActivePinia(createPinia());
    expect(mount(NoticeBanner).find('[data-testid="welcome-hint"]').exists()).toBe(false);
  });

  it('steps aside once the user opens an image, and does not come back', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine()));
    const w = mount(NoticeBanner);
    expect(w.find('[data-testid="welcome-hint"]').exists()).toBe(true);
    store.addImages([png('cat.png')]);
    await settle();
    expect(w.find('[data-testid="welcome-hint"]').exists()).toBe(false);
    setActivePinia(createPinia());
    expect(mount(NoticeBanner).find('[data-testid="welcome-hint"]').exists()).toBe(false);
  });

  it('steps aside once the user picks a model', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine()));
    const w = mount(NoticeBanner);
    await store.selectModel('tiny');
    await settle();
    expect(w.find('[data-testid="welcome-hint"]').exists()).toBe(false);
  });

  it('sits beside a notice without hiding it', async () => {
    const store = useSessionStore();
    store.showError('photo.heic: not a supported image');
    const w = mount(NoticeBanner);
    expect(w.find('[data-testid="welcome-hint"]').exists()).toBe(true);
    expect(w.get('[data-testid="notice"]').text()).toContain('photo.heic: not a supported image');
  });
});

describe('backend line in plain words', () => {
  beforeEach(() => setActivePinia(createPinia()));

  async function line(backend: BackendName, reason: string) {
    const store = useSessionStore();
    await store.connect(fakeBridge(new BackendEngine(backend, reason) as never));
    const el = mount(StatusBar).get('[data-testid="backend"]');
    return { text: el.text(), title: el.attributes('title') ?? '', backend: el.attributes('data-backend') };
  }

  const cases: { name: string; backend: BackendName; reason: string; text: string; detail: string }[] = [
    {
      name: 'WebGL on a hardware GPU',
      backend: 'webgl',
      reason: `webgl: WebGL2 on ${NVIDIA}`,
      text: 'Running on the GPU (WebGL)',
      detail: NVIDIA,
    },
    {
      name: 'WebAssembly because the only WebGL is SwiftShader',
      backend: 'wasm',
      reason: `wasm (SIMD, single thread); not webgl: software rendering (${SWIFTSHADER}) is slower than wasm`,
      text: 'Running on the CPU (WebAssembly); the GPU is software-only here (SwiftShader)',
      detail: SWIFTSHADER,
    },
    {
      name: 'WebAssembly because the only WebGL is llvmpipe',
      backend: 'wasm',
      reason: `wasm (SIMD, multi-threaded); not webgl: software rendering (${LLVMPIPE}) is slower than wasm`,
      text: 'Running on the CPU (WebAssembly); the GPU is software-only here (llvmpipe)',
      detail: LLVMPIPE,
    },
    {
      name: 'WebAssembly with no WebGL context at all',
      backend: 'wasm',
      reason: 'wasm (no SIMD, single thread); not webgl: no hardware-accelerated WebGL context',
      text: 'Running on the CPU (WebAssembly); no usable GPU was found',
      detail: 'no hardware-accelerated WebGL context',
    },
    {
      name: 'WebAssembly asked for (?backend=wasm)',
      backend: 'wasm',
      reason: 'wasm (SIMD, multi-threaded)',
      text: 'Running on the CPU (WebAssembly)',
      detail: 'wasm (SIMD, multi-threaded)',
    },
    {
      name: 'WebAssembly after the WebGL context was lost',
      backend: 'wasm',
      reason: 'wasm (SIMD, single thread) — the WebGL context was lost, fell back',
      text: 'Running on the CPU (WebAssembly); the GPU stopped (its WebGL context was lost)',
      detail: 'the WebGL context was lost, fell back',
    },
    {
      name: 'plain JavaScript when neither WebGL nor WebAssembly starts',
      backend: 'cpu',
      reason:
        'cpu (plain JavaScript kernels); not webgl: no hardware-accelerated WebGL context; not wasm: could not be initialised',
      text: 'Running on the CPU (plain JavaScript, slowest); no usable GPU was found',
      detail: 'not wasm: could not be initialised',
    },
    {
      name: 'software WebGL asked for explicitly (?backend=webgl)',
      backend: 'webgl',
      reason: `webgl: WebGL2 on ${SWIFTSHADER}`,
      text: 'Running on WebGL, but the GPU is software-only here (SwiftShader): slower than WebAssembly',
      detail: SWIFTSHADER,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const l = await line(c.backend, c.reason);
      expect(l.text).toBe(c.text);
      // The technical detail (the engine's reason with the renderer string) is on hover.
      expect(l.title).toContain(c.detail);
      expect(l.title).toContain(`tfjs backend: ${c.backend}`);
      expect(l.backend).toBe(c.backend);
    });
  }

  it('says the engine is starting before it has answered', () => {
    const el = mount(StatusBar).get('[data-testid="backend"]');
    expect(el.text()).toBe('Starting the engine…');
  });
});
