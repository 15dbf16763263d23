import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { getZooGraph, isZooId, ZOO_IDS, zooEntries } from '../../renderer/src/zoo';

describe('zoo totals equal the published parameter counts (1000-class heads)', () => {
  // Keras Applications table (keras.io/api/applications, "Parameters" column, and model.summary() "Total params",
  // which include BatchNorm moving statistics as non-trainable):
  //   VGG16 138,357,544 · ResNet50 25,636,712 · DenseNet121 8,062,504 · InceptionV3 23,851,784 ·
  //   MobileNetV2 (alpha 1.0, 224) 3,538,984.
  it.each([
    ['vgg16', 138_357_544],
    ['resnet50', 25_636_712],
    ['densenet121', 8_062_504],
    ['inceptionv3', 23_851_784],
    ['mobilenetv2', 3_538_984],
  ])('%s has %i parameters (Keras count)', (id, total) => {
    expect(analyzeGraph(getZooGraph(id)).totals.params).toBe(total);
  });

  it('AlexNet (single-tower, torchvision definition) has 61,100,840 parameters', () => {
    // torchvision.models.alexnet: AlexNet_Weights.IMAGENET1K_V1 meta "num_params": 61100840.
    const a = analyzeGraph(getZooGraph('alexnet'));
    expect(a.totals.params).toBe(61_100_840);
    expect(a.totals.nonTrainable).toBe(0);
  });

  it('GoogLeNet (torchvision definition, no aux heads) has 6,624,904 parameters without BN statistics', () => {
    // torchvision.models.googlenet: GoogLeNet_Weights.IMAGENET1K_V1 meta "num_params": 6624904 (PyTorch does not
    // count BN running mean/var). The Keras-style count adds 2 per BN channel: 6,624,904 + 2·7,280 = 6,639,464.
    const a = analyzeGraph(getZooGraph('googlenet'));
    expect(a.totals.paramsWithoutBnStats).toBe(6_624_904);
    expect(a.totals.nonTrainable).toBe(14_560);
    expect(a.totals.params).toBe(6_639_464);
  });

  it('splits parameters into trainable and BN statistics consistently', () => {
    for (const id of ZOO_IDS) {
      const a = analyzeGraph(getZooGraph(id));
      const t = a.totals;
      expect(t.trainable + t.nonTrainable).toBe(t.params);
      expect(t.paramsWithoutBnStats).toBe(t.trainable);
      const sum = a.layers.reduce((s, l) => s + l.params.weights + l.params.biases + l.params.nonTrainable, 0);
      expect(sum).toBe(t.params);
      // Non-trainable parameters are only ever BN moving statistics.
      for (const l of a.layers) if (l.params.nonTrainable) expect(l.kind).toBe('norm');
    }
  });

  it('ResNet50 BN statistics: 53,120 non-trainable as Keras reports', () => {
    // Keras ResNet50().summary(): "Non-trainable params: 53,120".
    expect(analyzeGraph(getZooGraph('resnet50')).totals.nonTrainable).toBe(53_120);
  });

  it('VGG16 MACs equal the hand sum of H·W·K·K·C_in·C_out over its convs plus N_in·N_out over its dense layers', () => {
    const convs: [number, number, number][] = [
      // [resolution, C_in, C_out]
      [224, 3, 64],
      [224, 64, 64],
      [112, 64, 128],
      [112, 128, 128],
      [56, 128, 256],
      [56, 256, 256],
      [56, 256, 256],
      [28, 256, 512],
      [28, 512, 512],
      [28, 512, 512],
      [14, 512, 512],
      [14, 512, 512],
      [14, 512, 512],
    ];
    const expected =
      convs.reduce((s, [r, ci, co]) => s + r * r * 9 * ci * co, 0) + 25088 * 4096 + 4096 * 4096 + 4096 * 1000;
    expect(expected).toBe(15_470_264_320);
    expect(analyzeGraph(getZooGraph('vgg16')).totals.macs).toBe(expected);
  });

  it('MACs match the "GFLOPS" column of torchvision\'s model table, which counts multiply-adds', () => {
    // pytorch.org/vision/stable/models.html (AlexNet 0.71, VGG16 15.47, GoogLeNet 1.50, DenseNet121 2.83,
    // MobileNet_V2 0.30, Inception_V3 5.71). Its ResNet50 (4.09) strides in the 3×3 conv, unlike Keras: see below.
    const gmacs = (id: string) => Math.round(analyzeGraph(getZooGraph(id)).totals.macs / 1e7) / 100;
    expect(
      ['alexnet', 'vgg16', 'googlenet', 'densenet121', 'mobilenetv2', 'inceptionv3'].map((id) => [id, gmacs(id)]),
    ).toEqual([
      ['alexnet', 0.71],
      ['vgg16', 15.47],
      ['googlenet', 1.5],
      ['densenet121', 2.83],
      ['mobilenetv2', 0.3],
      ['inceptionv3', 5.71],
    ]);
  });

  it('ResNet50 multiply-adds match the paper (3.8 × 10⁹ "FLOPs" = multiply-adds, He et al. 2016, Table 1)', () => {
    const macs = analyzeGraph(getZooGraph('resnet50')).totals.macs;
    expect(macs).toBeGreaterThan(3.8e9);
    expect(macs).toBeLessThan(3.9e9);
  });

  it('dense vs conv shares: VGG16 is dense-heavy, ResNet50 conv-heavy', () => {
    const vgg = analyzeGraph(getZooGraph('vgg16')).totals;
    expect(vgg.denseParams).toBe(102_764_544 + 16_781_312 + 4_097_000);
    expect(vgg.convParams).toBe(14_714_688); // Keras VGG16(include_top=False) total
    expect(vgg.denseParams / vgg.params).toBeGreaterThan(0.89);
    const resnet = analyzeGraph(getZooGraph('resnet50')).totals;
    expect(resnet.denseParams).toBe(2048 * 1000 + 1000);
    expect(resnet.depth).toBe(54); // 53 convs (incl. 4 projection shortcuts) + 1 dense
  });

  it('groups layers into stages by resolution with per-stage sums', () => {
    const a = analyzeGraph(getZooGraph('vgg16'));
    expect(a.stages.map((s) => s.resolution[0])).toEqual([224, 112, 56, 28, 14, 7]);
    expect(a.stages[0].layerIds).toEqual(['input_1', 'block1_conv1', 'block1_conv2']);
    expect(a.stages[0].params).toBe(1792 + 36928);
    const spatial = a.layers.filter((l) => l.outputShape.length === 3);
    expect(a.stages.reduce((s, st) => s + st.layerIds.length, 0)).toBe(spatial.length);
    expect(a.layers.find((l) => l.id === 'fc1')?.stage).toBeNull();
    // Padding layers belong to the stage of their input, not to a stage of their own.
    const r = analyzeGraph(getZooGraph('resnet50'));
    const byId = new Map(r.layers.map((l) => [l.id, l]));
    expect(byId.get('conv1_pad')?.stage).toBe(byId.get('input_1')?.stage);
    expect(byId.get('pool1_pad')?.stage).toBe(byId.get('conv1_relu')?.stage);
    expect(r.stages.map((s) => s.resolution[0])).toEqual([224, 112, 56, 28, 14, 7]);
  });

  it('scales with the input size: conv params stay, the flatten-fed dense layer follows H·W', () => {
    const a = analyzeGraph(getZooGraph('vgg16', { input: [64, 64] }));
    expect(a.layers.find((l) => l.id === 'fc1')?.params.total).toBe(2 * 2 * 512 * 4096 + 4096);
    expect(a.totals.convParams).toBe(14_714_688);
    // Global-average-pooled heads do not depend on the input size.
    expect(analyzeGraph(getZooGraph('resnet50', { input: [96, 128] })).totals.params).toBe(25_636_712);
  });

  it('lists every zoo entry honestly', () => {
    const entries = zooEntries();
    expect(entries.map((e) => e.id)).toEqual([...ZOO_IDS]);
    for (const e of entries) {
      expect(e.description).toContain('untrained');
      expect(e.paper).toMatch(/\d{4}/);
      expect(getZooGraph(e.id).nodes[0]).toMatchObject({ op: 'input', shape: [e.inputSize[0], e.inputSize[1], 3] });
    }
    expect(entries.find((e) => e.id === 'inceptionv3')?.inputSize).toEqual([299, 299]);
    expect(isZooId('vgg16')).toBe(true);
    expect(isZooId('vgg19')).toBe(false);
    expect(() => getZooGraph('vgg19')).toThrow(/Unknown zoo model "vgg19"/);
    expect(() => getZooGraph('vgg16', { input: [0, 10] })).toThrow(/positive integers/);
  });
});
