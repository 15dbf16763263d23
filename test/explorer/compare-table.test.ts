import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { getZooGraph } from '../../renderer/src/zoo';
import {
  CSV_COLUMNS,
  TABLE_JSON_FORMAT,
  buildComparisonTable,
  csvField,
  finalReceptiveField,
  tableToCsv,
  tableToJson,
  type TableModel,
} from '../../renderer/src/explorer/compare/table';

const model = (id: string, over: Partial<TableModel> = {}): TableModel => ({
  key: id,
  modelId: id,
  name: id.toUpperCase(),
  source: 'zoo',
  trained: false,
  analysis: analyzeGraph(getZooGraph(id)),
  lastPassMs: null,
  backend: null,
  ...over,
});

/** A small RFC 4180 reader (quoted fields, doubled quotes, CRLF), enough to read our own output back. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  return rows;
}

const vgg = model('vgg16', { lastPassMs: 812.345, backend: 'wasm' });
const resnet = model('resnet50');
const table = buildComparisonTable([vgg, resnet]);

describe('comparison table', () => {
  it('takes every total from the analysis and tells the lecture story: deeper, fewer parameters', () => {
    const [v, r] = table.models;
    expect(v).toMatchObject({
      modelId: 'vgg16',
      input: [224, 224],
      depth: 16,
      pathDepth: 16,
      params: 138_357_544,
      denseParams: 123_642_856,
      macs: vgg.analysis.totals.macs,
      lastPassMs: 812.345,
      backend: 'wasm',
    });
    expect(r).toMatchObject({ depth: 54, pathDepth: 50, params: 25_636_712, denseParams: 2_049_000 });
    expect(v.denseShare).toBeCloseTo(123_642_856 / 138_357_544, 12);
    expect(r.depth).toBeGreaterThan(v.depth);
    expect(r.params).toBeLessThan(v.params);
    expect(r.lastPassMs).toBeNull();
  });

  it('reports the receptive field of the last spatial layer', () => {
    const rf = finalReceptiveField(vgg.analysis)!;
    expect(rf.layerId).toBe('block5_pool');
    // Thirteen 3×3 convs and five 2×2/2 pools: 212 px (the classic VGG-16 figure).
    expect(rf.size).toEqual([212, 212]);
    expect(table.models[0].finalRf).toEqual([212, 212]);
    expect(table.models[1].finalRfLayer).toBe('conv5_block3_out');
  });

  it('has one stage row per aligned stage with a cell per model, adding up to the totals', () => {
    expect(table.stages.map((s) => s.fraction)).toEqual(['1/1', '1/2', '1/4', '1/8', '1/16', '1/32', 'head']);
    for (const [i, m] of table.models.entries()) {
      expect(table.stages.reduce((s, st) => s + st.cells[i].params, 0)).toBe(m.params);
      expect(table.stages.reduce((s, st) => s + st.cells[i].weightedLayers, 0)).toBe(m.depth);
    }
    expect(table.stages[3].cells[0]).toMatchObject({ resolution: [28, 28], layers: 4, weightedLayers: 3 });
  });

  it('quotes CSV fields per RFC 4180', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(false)).toBe('false');
  });

  it('writes CSV that reads back to the exact integers, totals first, then stages', () => {
    const odd = buildComparisonTable([model('vgg16', { name: 'My "VGG", v2' }), resnet]);
    const rows = readCsv(tableToCsv(odd));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    for (const r of rows) expect(r).toHaveLength(CSV_COLUMNS.length);
    const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    const totals = rows.filter((r) => r[col('scope')] === 'total');
    expect(totals.map((r) => r[col('model')])).toEqual(['My "VGG", v2', 'RESNET50']);
    expect(totals.map((r) => Number(r[col('params')]))).toEqual([138_357_544, 25_636_712]);
    expect(totals.map((r) => Number(r[col('macs')]))).toEqual(odd.models.map((m) => m.macs));
    expect(totals[1][col('longest_path')]).toBe('50');
    expect(totals[0][col('final_rf')]).toBe('212x212');
    const stages = rows.filter((r) => r[col('scope')] === 'stage');
    const vggStages = stages.filter((r) => r[col('model_id')] === 'vgg16');
    expect(vggStages.map((r) => r[col('stage')])).toEqual(['1/1', '1/2', '1/4', '1/8', '1/16', '1/32', 'head']);
    expect(vggStages.reduce((s, r) => s + Number(r[col('params')]), 0)).toBe(138_357_544);
  });

  it('writes JSON with the models, their nested stages and the image', () => {
    const doc = JSON.parse(tableToJson(table, { image: 'chelsea.png', createdAt: '2025-01-01T00:00:00.000Z' }));
    expect(doc.format).toBe(TABLE_JSON_FORMAT);
    expect(doc.image).toBe('chelsea.png');
    expect(doc.models.map((m: { modelId: string }) => m.modelId)).toEqual(['vgg16', 'resnet50']);
    expect(doc.models[1].params).toBe(25_636_712);
    expect(doc.models[0].stages[3]).toMatchObject({ fraction: '1/8', resolution: [28, 28], weightedLayers: 3 });
    expect(doc.models[0].stages.reduce((s: number, st: { params: number }) => s + st.params, 0)).toBe(138_357_544);
  });
});

describe('predictions in the comparison table', () => {
  it("shows each model's top classes on the image, highest first, and writes the top one to CSV", async () => {
    const { mount } = await import('@vue/test-utils');
    const { default: CompareTable } = await import('../../renderer/src/explorer/compare/CompareTable.vue');
    const table = buildComparisonTable([
      model('vgg16', {
        trained: true,
        prediction: [
          { label: 'tiger cat', probability: 0.2 },
          { label: 'tabby, tabby cat', probability: 0.64 },
          { label: 'Egyptian cat', probability: 0.05 },
        ],
      }),
      model('resnet50'),
    ]);
    expect(table.models[0].prediction?.map((c) => c.label)).toEqual(['tabby, tabby cat', 'tiger cat', 'Egyptian cat']);
    expect(table.models[1].prediction).toBeNull();
    const rows = readCsv(tableToCsv(table));
    const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    const totals = rows.filter((r) => r[col('scope')] === 'total');
    expect(totals.map((r) => r[col('top1')])).toEqual(['tabby, tabby cat', '']);
    expect(totals[0][col('top1_probability')]).toBe('0.640000');
    const w = mount(CompareTable, { props: { table, colors: { vgg16: '#f00', resnet50: '#0f0' } } });
    const cells = w.findAll('[data-col="prediction"]');
    expect(cells[0].text()).toBe('tabby, tabby cat 64.0%');
    expect(cells[0].attributes('title')).toBe('tabby, tabby cat 64.0%\ntiger cat 20.0%\nEgyptian cat 5.0%');
    expect(cells[1].text()).toBe('—');
  });
});
