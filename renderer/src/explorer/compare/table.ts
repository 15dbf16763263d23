/**
 * The comparison table: per model and per stage, the numbers that carry the lecture's story (depth, parameters
 * and their share in dense layers, MACs, final receptive field, time of the last pass), and its CSV / JSON
 * serialisations. Pure functions; the numbers come straight from the analysis, never recomputed differently.
 */
import type { ModelAnalysis, Pair } from '../../../../common/analysis-types';
import type { BackendName, ModelSource } from '../../../../common/engine-protocol';
import { alignStages, weightedPathDepth, type AlignSource, type StageKey } from './alignment';

/** What the table needs of one model in the comparison. */
export interface TableModel {
  key: string;
  modelId: string;
  name: string;
  source: ModelSource;
  trained: boolean;
  analysis: ModelAnalysis;
  frameOrder?: readonly string[];
  /** Total time of the last pass on this machine (ms), null before the first pass finishes. */
  lastPassMs: number | null;
  /** Backend of that pass. */
  backend: BackendName | null;
  /** The last pass's top classes (highest first), null before it finishes or when the model has no class vector. */
  prediction?: readonly PredictedClass[] | null;
}

/** One of a model's top classes on the compared image. */
export interface PredictedClass {
  label: string;
  probability: number;
}

/** One model's row. Counts are exact integers. */
export interface ModelRow {
  key: string;
  modelId: string;
  name: string;
  source: ModelSource;
  trained: boolean;
  /** Input [H, W]. */
  input: Pair;
  /** Layers with weights (ModelAnalysis.totals.depth). */
  depth: number;
  /** Layers with weights on the longest input → output path (ResNet-50: 50 of its 54). */
  pathDepth: number;
  params: number;
  denseParams: number;
  /** denseParams / params, 0..1 (0 for a model without parameters). */
  denseShare: number;
  macs: number;
  /** Receptive field of the last spatial layer, [H, W] in input pixels; null if the model has none. */
  finalRf: Pair | null;
  /** The layer whose receptive field that is. */
  finalRfLayer: string | null;
  lastPassMs: number | null;
  backend: BackendName | null;
  /** Top classes of the last pass, highest first (up to 5); null when unknown. */
  prediction: PredictedClass[] | null;
}

/** One model's numbers in one stage. */
export interface StageCell {
  key: string;
  resolution: Pair | null;
  layers: number;
  weightedLayers: number;
  params: number;
  macs: number;
}

/** One stage across the models. */
export interface StageRow {
  stage: StageKey;
  fraction: string;
  /** One cell per model, in the table's model order. */
  cells: StageCell[];
}

/** The whole table: a row per model and a row per stage. */
export interface ComparisonTable {
  models: ModelRow[];
  stages: StageRow[];
}

/** The receptive field of the last layer that still has one (the last spatial layer before the head). */
export function finalReceptiveField(analysis: ModelAnalysis): { layerId: string; size: Pair } | null {
  for (let i = analysis.layers.length - 1; i >= 0; i--) {
    const rf = analysis.layers[i].receptiveField;
    if (rf) return { layerId: analysis.layers[i].id, size: [rf.size[0], rf.size[1]] };
  }
  return null;
}

/** Builds the table for models in display order. */
export function buildComparisonTable(models: readonly TableModel[]): ComparisonTable {
  const rows: ModelRow[] = models.map((m) => {
    const t = m.analysis.totals;
    const rf = finalReceptiveField(m.analysis);
    return {
      key: m.key,
      modelId: m.modelId,
      name: m.name,
      source: m.source,
      trained: m.trained,
      input: [m.analysis.input[0], m.analysis.input[1]],
      depth: t.depth,
      pathDepth: Math.max(0, ...weightedPathDepth(m.analysis).values()),
      params: t.params,
      denseParams: t.denseParams,
      denseShare: t.params > 0 ? t.denseParams / t.params : 0,
      macs: t.macs,
      finalRf: rf?.size ?? null,
      finalRfLayer: rf?.layerId ?? null,
      lastPassMs: m.lastPassMs,
      backend: m.backend,
      prediction: m.prediction
        ? [...m.prediction]
            .sort((a, b) => b.probability - a.probability)
            .slice(0, 5)
            .map((c) => ({ label: c.label, probability: c.probability }))
        : null,
    };
  });
  const sources: AlignSource[] = models.map((m) => ({ key: m.key, analysis: m.analysis, frameOrder: m.frameOrder }));
  const stages: StageRow[] = alignStages(sources).map((band) => ({
    stage: band.stage,
    fraction: band.fraction,
    cells: band.members.map((mem) => ({
      key: mem.key,
      resolution: mem.resolution,
      layers: mem.layers,
      weightedLayers: mem.weightedLayers,
      params: mem.params,
      macs: mem.macs,
    })),
  }));
  return { models: rows, stages };
}

/** CSV header of `tableToCsv`, one long-format row per model total and per model stage. */
export const CSV_COLUMNS = [
  'model_id',
  'model',
  'source',
  'trained',
  'scope',
  'stage',
  'resolution',
  'input',
  'layers_with_weights',
  'longest_path',
  'params',
  'dense_params',
  'dense_share',
  'macs',
  'final_rf',
  'last_pass_ms',
  'backend',
  'top1',
  'top1_probability',
] as const;

/** RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled. */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const size = (p: Pair | null): string | null => (p ? `${p[0]}x${p[1]}` : null);

/**
 * The table as CSV (CRLF line ends, per RFC 4180): a 'total' row per model, then a 'stage' row per model and
 * stage it has. Numbers are exact (no thousands separators); the dense share has 6 decimals.
 */
export function tableToCsv(table: ComparisonTable): string {
  const lines: string[] = [CSV_COLUMNS.join(',')];
  const push = (cells: (string | number | boolean | null)[]) => lines.push(cells.map(csvField).join(','));
  for (const m of table.models) {
    push([
      m.modelId,
      m.name,
      m.source,
      m.trained,
      'total',
      null,
      null,
      size(m.input),
      m.depth,
      m.pathDepth,
      m.params,
      m.denseParams,
      m.denseShare.toFixed(6),
      m.macs,
      size(m.finalRf),
      m.lastPassMs === null ? null : m.lastPassMs.toFixed(1),
      m.backend,
      m.prediction?.[0]?.label ?? null,
      m.prediction?.[0] ? m.prediction[0].probability.toFixed(6) : null,
    ]);
  }
  for (const s of table.stages) {
    s.cells.forEach((c, i) => {
      if (!c.layers && !c.params && !c.macs) return;
      const m = table.models[i];
      push([
        m.modelId,
        m.name,
        m.source,
        m.trained,
        'stage',
        s.fraction,
        size(c.resolution),
        size(m.input),
        c.weightedLayers,
        null,
        c.params,
        null,
        null,
        c.macs,
        null,
        null,
        null,
        null,
        null,
      ]);
    });
  }
  return lines.join('\r\n') + '\r\n';
}

/** Identifies the JSON export's format (and its version) for anyone reading it back. */
export const TABLE_JSON_FORMAT = 'feature-map-explorer/comparison-table';

/** The table as a JSON document: the models with their stages nested, plus what image was compared. */
export function tableToJson(table: ComparisonTable, context: { image: string | null; createdAt: string }): string {
  return JSON.stringify(
    {
      format: TABLE_JSON_FORMAT,
      version: 1,
      image: context.image,
      createdAt: context.createdAt,
      models: table.models.map((m, i) => ({
        ...m,
        stages: table.stages
          .filter((s) => s.cells[i].layers || s.cells[i].params || s.cells[i].macs)
          .map((s) => {
            const { key: _key, ...cell } = s.cells[i];
            return { stage: s.stage, fraction: s.fraction, ...cell };
          }),
      })),
    },
    null,
    2,
  );
}
