/**
 * One editing session of the what-if editor: the original network (a zoo architecture or any model's graph) with
 * its analysis computed once, and the current knobs and layer edits. `update()` is what runs on every change in
 * the UI (and what scripts/bench-edit.ts times): rebuild the edited graph, analyse it (fast receptive fields),
 * diff it against the original.
 */
import { applyEdits, evaluateEdit, settingsGraph, type EditResult, type LayerEdit } from './edit';
import { analyzeForEdit } from './edit';
import type { EditFile } from './edit-file';
import { findPreset } from './edit-presets';
import type { ModelAnalysis, Pair } from '../../../common/analysis-types';
import { getZooGraph, isZooId, zooKnobs, type KnobValues, type ZooId, type ZooKnob } from '../zoo';
import type { ModelGraph } from './graph';

export class EditSession {
  /** The original, as a graph of settings. */
  readonly base: ModelGraph;
  readonly baseAnalysis: ModelAnalysis;
  /** The zoo id when the original is a zoo architecture (then knobs and presets apply). */
  readonly zooId: ZooId | null;
  readonly knobDefs: ZooKnob[];
  /** What the edit file calls a graph original (its `base`). */
  readonly name: string;
  knobs: KnobValues = {};
  edits: LayerEdit[] = [];
  preset: string | undefined;
  strict = false;
  private readonly input?: Pair;

  /**
   * `source`: a zoo id, or the graph of the model on screen (then only layer edits apply; `input` fixes an input
   * size the graph leaves open, as the engine did when it loaded the model; `name`, what an edit file calls the
   * original: the model's file name, default the graph's name).
   */
  constructor(source: string | ModelGraph, opts: { input?: Pair; name?: string } = {}) {
    this.input = opts.input;
    if (typeof source === 'string') {
      if (!isZooId(source)) throw new Error(`unknown zoo model "${source}"`);
      this.zooId = source;
      this.base = getZooGraph(source, opts);
      this.knobDefs = zooKnobs(source);
    } else {
      this.zooId = null;
      this.base = settingsGraph(withInputSize(source, opts.input));
      this.knobDefs = [];
    }
    this.name = opts.name ?? this.base.name;
    this.baseAnalysis = analyzeForEdit(this.base, true);
  }

  /** Sets or clears (undefined) one layer field; later edits of the same field replace earlier ones. */
  setField(edit: LayerEdit | { layer: string; field: LayerEdit['field']; value: undefined }): void {
    this.edits = this.edits.filter((e) => !(e.layer === edit.layer && e.field === edit.field));
    if (edit.value !== undefined) this.edits.push(edit as LayerEdit);
  }

  /** Applies a preset: its knobs and edits replace the current ones. */
  applyPreset(id: string): void {
    const p = findPreset(id);
    if (!p || p.base !== this.zooId)
      throw new Error(`preset "${id}" does not apply to ${this.zooId ?? this.base.name}`);
    this.preset = id;
    this.knobs = { ...p.knobs };
    this.edits = [...(p.edits ?? [])];
  }

  reset(): void {
    this.preset = undefined;
    this.knobs = {};
    this.edits = [];
  }

  /** The edited graph (throws EditError / a knob Error for a bad setting). */
  editedGraph(): ModelGraph {
    const g = this.zooId ? getZooGraph(this.zooId, { input: this.input, knobs: this.knobs }) : this.base;
    return applyEdits(g, this.edits);
  }

  /** Rebuilds, analyses and diffs the edited network. */
  update(): EditResult {
    return evaluateEdit(this.base, this.editedGraph(), {
      fast: true,
      strict: this.strict,
      baseAnalysis: this.baseAnalysis,
      touched: new Set(this.edits.map((e) => e.layer)),
    });
  }

  /** The session as an edit file's contents (a graph original carries its graph). */
  toEdit(): EditFile {
    if (!this.zooId) return { base: this.name, graph: this.base, edits: [...this.edits] };
    // A preset whose knobs or edits were changed afterwards is saved as plain knobs and edits.
    const p = this.preset ? findPreset(this.preset) : undefined;
    const untouched =
      p &&
      JSON.stringify(p.knobs ?? {}) === JSON.stringify(this.knobs) &&
      JSON.stringify(p.edits ?? []) === JSON.stringify(this.edits);
    return untouched && p
      ? { base: this.zooId, preset: p.id, edits: [] }
      : { base: this.zooId, knobs: { ...this.knobs }, edits: [...this.edits] };
  }
}

/** The graph with its input node's open (null) height and width set to `input`; the graph itself when none is open. */
export function withInputSize(graph: ModelGraph, input?: Pair): ModelGraph {
  const open = (n: ModelGraph['nodes'][number]) => n.op === 'input' && (n.shape[0] === null || n.shape[1] === null);
  if (!input || !graph.nodes.some(open)) return graph;
  return {
    ...graph,
    nodes: graph.nodes.map((n) =>
      n.op === 'input' && open(n) ? { ...n, shape: [n.shape[0] ?? input[0], n.shape[1] ?? input[1], n.shape[2]] } : n,
    ),
  };
}
