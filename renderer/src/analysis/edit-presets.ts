/**
 * The lecture's own comparisons as one-click edits of zoo models, and the description of an edit as data (what
 * an edit file holds): a base architecture, an optional preset, knob values and layer edits.
 */
import { applyEdits, type LayerEdit } from './edit';
import type { Pair } from '../../../common/analysis-types';
import { getZooGraph, isZooId, ZOO_IDS, type KnobValues, type ZooId } from '../zoo';
import type { ModelGraph } from './graph';

/** A lecture comparison: a short name, one line with its numbers, and the knobs / edits that make it. */
export interface EditPreset {
  /** Short name used on the command line and in edit files: `vgg16-gap`. */
  id: string;
  base: ZooId;
  title: string;
  /** One line: what changes and the lecture's numbers (hand-computed; the tests recompute them). */
  explanation: string;
  knobs?: KnobValues;
  edits?: LayerEdit[];
}

/** The presets, in the lecture's order. */
export const PRESETS: readonly EditPreset[] = [
  {
    id: '5x5-vs-3x3',
    base: 'vgg16',
    title: 'One 5×5 instead of two 3×3',
    explanation:
      "block3's last two 3×3 convs (256→256) as one 5×5: 25 instead of 2·9 = 18 weights per channel pair " +
      '(1,638,400 vs 1,179,648 weights), the same 5×5 field (44 px at block3_pool either way) with one ReLU less',
    knobs: { convsStage3: 2 },
    edits: [{ layer: 'block3_conv2', field: 'kernel', value: 5 }],
  },
  {
    id: 'googlenet-no-reduce',
    base: 'googlenet',
    title: 'GoogLeNet without the 1×1 reduction before the 3×3',
    explanation:
      "every Inception module's 3×3 reads the whole input instead of a 1×1 reduction: inception3a " +
      '1×1 192→96 + 3×3 96→128 = 18,432 + 110,592 = 129,024 weights becomes 3×3 192→128 = 221,184',
    knobs: { reduce3x3: 0 },
  },
  {
    id: 'vgg16-gap',
    base: 'vgg16',
    title: 'VGG-16 with global average pooling instead of flatten',
    explanation:
      'fc1 sees 512 averaged channels instead of 7·7·512 = 25,088 values: its parameters go from ' +
      '25,088·4,096 + 4,096 = 102,764,544 to 512·4,096 + 4,096 = 2,101,248',
    knobs: { globalPool: 1 },
  },
  {
    id: 'resnet-basic-vs-bottleneck',
    base: 'resnet50',
    title: "ResNet-50's bottleneck vs two 3×3 convs",
    explanation:
      'each block as two 3×3 convs at its output width instead of 1×1–3×3–1×1: at 256 channels ' +
      '256·64 + 9·64·64 + 64·256 = 69,632 weights become 2·9·256·256 = 1,179,648 (17× more), same shapes',
    knobs: { basicBlocks: 1 },
  },
  {
    id: 'densenet-k12',
    base: 'densenet121',
    title: 'DenseNet-121 with growth rate k = 12 instead of 32',
    explanation:
      'every conv block adds 12 channels instead of 32 (1×1 bottleneck 4k = 48 instead of 128): the last dense ' +
      'block ends with 389 channels instead of 1,024',
    knobs: { growthRate: 12 },
  },
];

/** The preset with this short name, or undefined. */
export function findPreset(id: string): EditPreset | undefined {
  return PRESETS.find((p) => p.id === id);
}

/** An architecture edit as data: what an edit file stores and what the editor applies. */
export interface ArchitectureEdit {
  base: ZooId;
  /** A preset applied first (its knobs, then its layer edits); `knobs` and `edits` below come on top. */
  preset?: string;
  knobs?: KnobValues;
  edits: LayerEdit[];
}

/** The original and the edited graph of an architecture edit. */
export interface BuiltEdit {
  /** The published network at that input. */
  base: ModelGraph;
  edited: ModelGraph;
  /** Knobs in effect (preset's, then the edit's own). */
  knobs: KnobValues;
  /** Layer edits in effect, in order. */
  edits: LayerEdit[];
  /** Layers edited directly. */
  touched: Set<string>;
}

/**
 * Builds an architecture edit: the zoo graph with the knobs set, the layer edits applied. Throws Error for an
 * unknown base or preset, a preset for another base, a bad knob, and EditError for a bad layer edit.
 */
export function buildEdit(spec: ArchitectureEdit, opts: { input?: Pair } = {}): BuiltEdit {
  if (!isZooId(spec.base)) throw new Error(`unknown base model "${String(spec.base)}" (known: ${ZOO_IDS.join(', ')})`);
  let knobs: KnobValues = {};
  let edits: LayerEdit[] = [];
  if (spec.preset !== undefined) {
    const p = findPreset(spec.preset);
    if (!p) throw new Error(`unknown preset "${spec.preset}" (presets: ${PRESETS.map((q) => q.id).join(', ')})`);
    if (p.base !== spec.base) throw new Error(`preset "${p.id}" is an edit of ${p.base}, not of ${spec.base}`);
    knobs = { ...p.knobs };
    edits = [...(p.edits ?? [])];
  }
  knobs = { ...knobs, ...spec.knobs };
  edits = [...edits, ...spec.edits];
  const base = getZooGraph(spec.base, opts);
  const edited = applyEdits(getZooGraph(spec.base, { ...opts, knobs }), edits);
  return { base, edited, knobs, edits, touched: new Set(edits.map((e) => e.layer)) };
}
