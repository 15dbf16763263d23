import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import InputConventions from '../../renderer/src/explorer/components/InputConventions.vue';
import type { Preprocess } from '../../common/engine-protocol';
import {
  VALUE_PRESETS,
  describePreprocess,
  parseNumber,
  presetOf,
  presetPatch,
  valueRange,
  withOverride,
} from '../../renderer/src/explorer/preprocess-presets';

const base: Preprocess = {
  inputSize: [224, 224],
  resize: 'center-crop',
  channelOrder: 'rgb',
  scale: 2,
  offset: -1,
  mean: [0, 0, 0],
  std: [1, 1, 1],
};

describe('preprocess presets', () => {
  it('names the preset a Preprocess matches', () => {
    expect(presetOf(base)).toBe('signed');
    expect(presetOf({ ...base, scale: 1, offset: 0 })).toBe('unit');
    expect(presetOf({ ...base, scale: 255, offset: 0 })).toBe('byte');
    expect(presetOf({ ...base, ...presetPatch('imagenet') })).toBe('imagenet');
    expect(presetOf({ ...base, ...presetPatch('caffe') })).toBe('caffe');
    expect(presetOf({ ...base, scale: 3 })).toBe('custom');
  });

  it('recognises equivalent spellings of a range, and needs BGR for the Caffe mean', () => {
    // torchvision's mean/std written for 0..255 pixels, and mean 0.5 / std 0.5: the same values per pixel.
    expect(
      presetOf({ ...base, scale: 255, offset: 0, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] }),
    ).toBe('imagenet');
    expect(presetOf({ ...base, scale: 1, offset: 0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] })).toBe('signed');
    expect(presetOf({ ...base, ...presetPatch('caffe'), channelOrder: 'rgb' })).toBe('custom');
    // A grey model uses channel 0 only, and luminance ignores the colour order.
    const grey: Preprocess = { ...base, channels: 1, scale: 1, offset: 0, mean: [0, 9, 9], std: [1, 9, 9] };
    expect(presetOf(grey)).toBe('unit');
    expect(presetOf({ ...base, std: [0, 1, 1] })).toBe('custom');
  });

  it('gives the exact numbers of each preset, as fresh copies', () => {
    expect(presetPatch('unit')).toEqual({ scale: 1, offset: 0, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(presetPatch('byte')).toEqual({ scale: 255, offset: 0, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(presetPatch('signed')).toEqual({ scale: 2, offset: -1, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(presetPatch('imagenet')).toEqual({
      scale: 1,
      offset: 0,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    expect(presetPatch('caffe')).toEqual({
      scale: 255,
      offset: 0,
      mean: [103.939, 116.779, 123.68],
      std: [1, 1, 1],
      channelOrder: 'bgr',
    });
    presetPatch('unit').mean![0] = 7;
    expect(VALUE_PRESETS[0].values.mean[0]).toBe(0);
  });

  it('describes a Preprocess in one line', () => {
    expect(describePreprocess(base)).toBe('224×224, center-crop, RGB, [−1, 1]');
    expect(describePreprocess({ ...base, inputSize: [299, 320], resize: 'letterbox', ...presetPatch('caffe') })).toBe(
      '299×320, letterbox, BGR, Caffe BGR mean',
    );
    expect(describePreprocess({ ...base, channels: 1, scale: 1, offset: 0 })).toBe(
      '224×224, center-crop, grey, [0, 1]',
    );
    expect(describePreprocess({ ...base, scale: 1, offset: -0.25, mean: [0.1, 0.2, 0.3] })).toBe(
      '224×224, center-crop, RGB, pixel/255·1 − 0.25, mean 0.1/0.2/0.3',
    );
  });

  it('computes the range of values each channel takes', () => {
    expect(valueRange(base)).toEqual([
      [-1, 1],
      [-1, 1],
      [-1, 1],
    ]);
    const [r] = valueRange({ ...base, ...presetPatch('imagenet') });
    expect(r[0]).toBeCloseTo(-2.118, 3);
    expect(r[1]).toBeCloseTo(2.249, 3);
    expect(valueRange({ ...base, channels: 1 })).toHaveLength(1);
  });

  it('parses typed numbers and rejects everything else', () => {
    expect(parseNumber(' 0.5 ')).toBe(0.5);
    expect(parseNumber('−1')).toBe(-1);
    expect(parseNumber('0,25')).toBe(0.25);
    expect(parseNumber('1e-3')).toBe(0.001);
    expect(parseNumber('.5')).toBe(0.5);
    for (const bad of ['', ' ', 'abc', 'NaN', 'Infinity', '1e999', '1/255', '0x10', '1 2', '--1'])
      expect(parseNumber(bad), bad).toBeNull();
  });

  it('applies an override over the model own conventions, never its size or channels', () => {
    const grey = { ...base, channels: 1 as const };
    expect(withOverride(grey, undefined)).toBe(grey);
    expect(withOverride(grey, { scale: 1, offset: 0, inputSize: [1, 1], channels: 3 })).toEqual({
      ...grey,
      scale: 1,
      offset: 0,
    });
  });
});

const mountPanel = (preprocess: Preprocess = base, extra: Record<string, unknown> = {}) =>
  mount(InputConventions, { props: { preprocess, modelName: 'MobileNetV2', ...extra } });
type Panel = ReturnType<typeof mountPanel>;
const changes = (w: Panel) => (w.emitted('change') ?? []).map((e) => e[0]);

describe('InputConventions', () => {
  it('shows the size, resize policy, colour order, value range and source', () => {
    const w = mountPanel(base, { source: 'from the model: Rescaling layer 1/127.5, offset −1' });
    expect(w.find('[data-testid="ic-summary"]').text()).toBe('224×224, center-crop, RGB, [−1, 1]');
    expect(w.find('[data-testid="ic-size"]').text()).toContain('224×224 px');
    expect(w.find('[data-testid="ic-size"] select, [data-testid="ic-size"] input').exists()).toBe(false);
    expect((w.find('[data-testid="ic-resize"]').element as HTMLSelectElement).value).toBe('center-crop');
    expect((w.find('[data-testid="ic-order"]').element as HTMLSelectElement).value).toBe('rgb');
    expect((w.find('[data-testid="ic-range"]').element as HTMLSelectElement).value).toBe('signed');
    expect(w.find('[data-testid="ic-custom"]').exists()).toBe(false);
    expect(w.find('[data-testid="ic-source"]').text()).toBe(
      'source: from the model: Rescaling layer 1/127.5, offset −1',
    );
    expect(w.find('[data-testid="ic-ranges"]').text()).toBe('values: R [−1, 1] · G [−1, 1] · B [−1, 1]');
    expect(w.attributes('aria-label')).toBe('Input conventions of MobileNetV2');
  });

  it('lists every preset and custom in the value-range select', () => {
    const w = mountPanel();
    expect(w.findAll('[data-testid="ic-range"] option').map((o) => o.text())).toEqual([
      '[0, 1]',
      '[0, 255]',
      '[−1, 1]',
      'ImageNet mean/std',
      'Caffe BGR mean',
      'custom',
    ]);
  });

  it('emits the exact numbers of the preset chosen', async () => {
    const w = mountPanel();
    const range = w.find('[data-testid="ic-range"]');
    for (const id of ['unit', 'byte', 'imagenet', 'caffe', 'signed'] as const) await range.setValue(id);
    expect(changes(w)).toEqual([
      { scale: 1, offset: 0, mean: [0, 0, 0], std: [1, 1, 1] },
      { scale: 255, offset: 0, mean: [0, 0, 0], std: [1, 1, 1] },
      { scale: 1, offset: 0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      { scale: 255, offset: 0, mean: [103.939, 116.779, 123.68], std: [1, 1, 1], channelOrder: 'bgr' },
      { scale: 2, offset: -1, mean: [0, 0, 0], std: [1, 1, 1] },
    ]);
  });

  it('emits the resize policy and colour order chosen', async () => {
    const w = mountPanel();
    await w.find('[data-testid="ic-resize"]').setValue('letterbox');
    await w.find('[data-testid="ic-order"]').setValue('bgr');
    expect(changes(w)).toEqual([{ resize: 'letterbox' }, { channelOrder: 'bgr' }]);
  });

  it('custom: shows the current numbers and emits typed numbers', async () => {
    const w = mountPanel({ ...base, ...presetPatch('imagenet') });
    expect(w.find('[data-testid="ic-custom"]').exists()).toBe(false);
    await w.find('[data-testid="ic-range"]').setValue('custom');
    expect(changes(w)).toEqual([]);
    expect((w.find('[data-testid="ic-range"]').element as HTMLSelectElement).value).toBe('custom');
    const input = (k: string) => w.find(`[data-testid="ic-${k}"]`);
    expect((input('mean1').element as HTMLInputElement).value).toBe('0.456');
    expect((input('std2').element as HTMLInputElement).value).toBe('0.225');
    expect(w.find('[data-testid="ic-mean1"]').element.parentElement?.textContent).toContain('mean G');

    await input('scale').setValue('255');
    await input('offset').setValue('−0.5');
    await input('mean1').setValue('0.5');
    await input('std0').setValue('0.25');
    expect(changes(w)).toEqual([
      { scale: 255 },
      { offset: -0.5 },
      { mean: [0.485, 0.5, 0.406] },
      { std: [0.25, 0.224, 0.225] },
    ]);
    for (const c of changes(w)) for (const v of Object.values(c!).flat()) expect(typeof v).toBe('number');
  });

  it('custom: rejects NaN, empty text, a zero scale and a non-positive std, and says so', async () => {
    const w = mountPanel({ ...base, scale: 3 });
    expect(w.find('[data-testid="ic-custom"]').exists()).toBe(true);
    const input = (k: string) => w.find(`[data-testid="ic-${k}"]`);
    for (const [k, text] of [
      ['scale', 'NaN'],
      ['scale', ''],
      ['scale', 'abc'],
      ['scale', '0'],
      ['offset', '1/2'],
      ['std0', '0'],
      ['std1', '-1'],
      ['mean2', 'Infinity'],
    ])
      await input(k).setValue(text);
    expect(w.emitted('change')).toBeUndefined();
    expect(input('std1').attributes('aria-invalid')).toBe('true');
    expect((input('std1').element as HTMLInputElement).value).toBe('-1');
    expect(w.find('[data-testid="ic-error"]').text()).toBe('scale: 0 makes every pixel the same; not applied');
    expect(input('std1').attributes('title')).toBe('std G: must be above 0');

    await input('std1').setValue('0.5');
    expect(input('std1').attributes('aria-invalid')).toBeUndefined();
    expect(changes(w)).toEqual([{ std: [1, 0.5, 1] }]);
  });

  it('grey model: says so, has no colour order, and edits only the one mean and std', async () => {
    const w = mountPanel({ ...base, channels: 1, inputSize: [28, 28], scale: 1, offset: 0 });
    expect(w.find('[data-testid="ic-channels"]').text()).toBe('grey (the model has 1 input channel)');
    expect(w.find('[data-testid="ic-order"]').exists()).toBe(false);
    expect(w.find('[data-testid="ic-summary"]').text()).toBe('28×28, center-crop, grey, [0, 1]');
    await w.find('[data-testid="ic-range"]').setValue('custom');
    expect(w.find('[data-testid="ic-mean0"]').exists()).toBe(true);
    expect(w.find('[data-testid="ic-mean1"]').exists()).toBe(false);
    expect(w.find('[data-testid="ic-std1"]').exists()).toBe(false);
    await w.find('[data-testid="ic-mean0"]').setValue('0.1307');
    expect(changes(w)).toEqual([{ mean: [0.1307, 0, 0] }]);
  });

  it('follows new props: the custom fields show the numbers the parent applied', async () => {
    const w = mountPanel({ ...base, scale: 3 });
    await w.setProps({ preprocess: { ...base, scale: 4 } });
    expect((w.find('[data-testid="ic-scale"]').element as HTMLInputElement).value).toBe('4');
    await w.setProps({ preprocess: { ...base, ...presetPatch('byte') } });
    expect((w.find('[data-testid="ic-range"]').element as HTMLSelectElement).value).toBe('byte');
    expect(w.find('[data-testid="ic-custom"]').exists()).toBe(false);
  });

  it('emits reset, and disables it when nothing is overridden; the source defaults to "not stated"', async () => {
    const w = mountPanel();
    expect(w.find('[data-testid="ic-source"]').text()).toBe('source: not stated');
    await w.find('[data-testid="ic-reset"]').trigger('click');
    expect(w.emitted('reset')).toHaveLength(1);
    // Reset closes "custom": the model's own conventions decide what the select shows again.
    await w.find('[data-testid="ic-range"]').setValue('custom');
    await w.find('[data-testid="ic-reset"]').trigger('click');
    expect((w.find('[data-testid="ic-range"]').element as HTMLSelectElement).value).toBe('signed');
    const off = mountPanel(base, { overridden: false });
    expect(off.find('[data-testid="ic-reset"]').attributes('disabled')).toBeDefined();
  });
});
