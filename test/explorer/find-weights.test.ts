import { beforeEach, describe, expect, it, vi } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import FindWeights from '../../renderer/src/explorer/weights/FindWeights.vue';
import { BRIDGE_KEY } from '../../renderer/src/explorer/bridge-key';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import type { HostBridge } from '../../renderer/src/bridge/types';
import type { FoundWeights, RecentOpenResult } from '../../common/ipc-contract';
import { FakeEngine, fakeBridge, settle } from './fake-engine';

const resnet: FoundWeights = {
  id: 3,
  name: 'resnet50-0676ba61.pth',
  path: '/home/u/.cache/torch/hub/checkpoints/resnet50-0676ba61.pth',
  size: 102_530_333,
  library: 'torchvision',
  architecture: 'ResNet-50',
  label: 'ResNet-50 — ImageNet (torchvision file)',
};

function mountWith(bridge: HostBridge) {
  return mount(FindWeights, { global: { provide: { [BRIDGE_KEY as symbol]: bridge } } });
}

describe('Find weights on this computer', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('searches when it opens, lists what it found, and opens the chosen file as a model', async () => {
    const model = { name: 'resnet50-0676ba61', files: [{ path: 'resnet50-0676ba61.pth', bytes: new ArrayBuffer(8) }] };
    const bridge: HostBridge = {
      ...fakeBridge(new FakeEngine()),
      findWeights: vi.fn(async () => [resnet]),
      foundWeights: vi.fn(async () => [resnet]),
      openFoundWeights: vi.fn(async (): Promise<RecentOpenResult> => ({ kind: 'model', model })),
    };
    const store = useSessionStore();
    const load = vi.spyOn(store, 'loadUserModel').mockResolvedValue(undefined as never);
    const w = mountWith(bridge);
    await settle();
    expect(bridge.findWeights).toHaveBeenCalledTimes(1);
    const item = w.get('[data-testid="found-weights"] li');
    expect(item.text()).toContain('ResNet-50 — ImageNet (torchvision file)');
    expect(item.text()).toContain('97.8 MB');
    expect(item.attributes('title')).toBe(resnet.path);
    await w.get('[data-testid="open-found-3"]').trigger('click');
    await settle();
    expect(bridge.openFoundWeights).toHaveBeenCalledWith(3);
    expect(load).toHaveBeenCalledWith(model);
    expect(w.emitted('close')).toBeTruthy();
  });

  it('says when nothing is there and shows the line that fills the cache', async () => {
    const bridge: HostBridge = {
      ...fakeBridge(new FakeEngine()),
      findWeights: async () => [],
      foundWeights: async () => [],
      openFoundWeights: async () => ({ kind: 'missing', message: 'x' }),
    };
    const w = mountWith(bridge);
    await settle();
    expect(w.get('[data-testid="found-none"]').text()).toContain('No weight files');
    expect(w.get('details.fill').attributes('open')).toBeDefined();
    expect(w.get('[data-testid="torchvision-command"]').text()).toContain("weights='DEFAULT'");
  });

  it('reports a file that vanished and a rejected read, and keeps the list usable', async () => {
    const bridge: HostBridge = {
      ...fakeBridge(new FakeEngine()),
      findWeights: async () => [resnet, { ...resnet, id: 4, name: 'vgg16-397923af.pth', label: 'VGG-16' }],
      foundWeights: async () => [],
      openFoundWeights: async (id: number) => {
        if (id === 3) return { kind: 'missing', message: `${resnet.path}: no longer exists` };
        throw new Error('vgg16-397923af.pth is larger than 2 GiB');
      },
    };
    const w = mountWith(bridge);
    await settle();
    await w.get('[data-testid="open-found-3"]').trigger('click');
    await settle();
    expect(w.get('[role="alert"]').text()).toContain('no longer exists');
    expect(w.findAll('[data-testid="found-weights"] li')).toHaveLength(1);
    await w.get('[data-testid="open-found-4"]').trigger('click');
    await settle();
    expect(w.get('[role="alert"]').text()).toBe('vgg16-397923af.pth is larger than 2 GiB');
    expect(w.emitted('close')).toBeFalsy();
  });

  it('in the browser build, says which folders to drop files from (a page cannot look into folders)', async () => {
    const w = mountWith(fakeBridge(new FakeEngine()));
    await settle();
    expect(w.get('[data-testid="find-weights-web"]').text()).toContain('drop a file');
    expect(w.text()).toContain('~/.cache/torch/hub/checkpoints/');
    expect(w.text()).toContain('~/.keras/models/');
  });
});

describe('found weights in the model picker', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('lists the remembered files under "On this computer" (no search) and opens the one chosen', async () => {
    const { default: AppToolbar } = await import('../../renderer/src/explorer/components/AppToolbar.vue');
    const model = { name: 'resnet50-0676ba61', files: [{ path: 'resnet50-0676ba61.pth', bytes: new ArrayBuffer(8) }] };
    const bridge: HostBridge = {
      ...fakeBridge(new FakeEngine()),
      findWeights: vi.fn(async () => [resnet]),
      foundWeights: vi.fn(async () => [resnet]),
      openFoundWeights: vi.fn(async (): Promise<RecentOpenResult> => ({ kind: 'model', model })),
    };
    const store = useSessionStore();
    await store.connect(bridge);
    const load = vi.spyOn(store, 'loadUserModel').mockResolvedValue(undefined as never);
    const w = mount(AppToolbar, {
      props: { colorMap: 'auto', normalize: 'channel' },
      global: { provide: { [BRIDGE_KEY as symbol]: bridge } },
    });
    await settle();
    expect(bridge.findWeights).not.toHaveBeenCalled();
    const group = w.get('[data-testid="found-group"]');
    expect(group.attributes('label')).toBe('On this computer (found weights)');
    expect(group.findAll('option').map((o) => o.text())).toEqual(['ResNet-50 — ImageNet (torchvision file)']);
    const select = w.get('[data-testid="model-select"]');
    (select.element as HTMLSelectElement).value = 'found:3';
    await select.trigger('change');
    await settle();
    expect(bridge.openFoundWeights).toHaveBeenCalledWith(3);
    expect(load).toHaveBeenCalledWith(model);
  });
});
