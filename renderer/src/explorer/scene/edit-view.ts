/**
 * What the 3D scene draws while the what-if editor is open with a change: the edited network's layout (shapes from
 * the edited analysis, no forward pass), the changed layers marked with a frame and a line under their label, the
 * layer where an edit breaks the network marked apart (red, with the problem), and the frames of the model on screen
 * only where they still show what the edited network computes. Pure data, no three.js.
 */
import type { ModelAnalysis } from '../../../../common/analysis-types';
import type { ModelSummary } from '../../../../common/engine-protocol';
import { staleLayers, type LayerMark } from '../../analysis/edit';
import type { EditFrames } from '../stores/architecture-edit';
import type { SceneLayout } from './layout';

/** The edit as the scene takes it (`FeatureScene.setEdit`). */
export interface SceneEdit {
  /** The network drawn: the edited one, or the original when the edit breaks it. */
  analysis: ModelAnalysis;
  /** Its layers with a slot on the wall (the model on screen's frame order where it still applies). */
  frameOrder: string[];
  /** Per layer: its mark. */
  marks: ReadonlyMap<string, LayerMark>;
  /** Layers whose frames from the model on screen are not drawn ('all': the frames are another network's). */
  stale: ReadonlySet<string> | 'all';
}

/** The editor's state as the architecture-edit store holds it. */
export interface EditState {
  open: boolean;
  frames: EditFrames;
  changedLayers: ReadonlySet<string>;
  analysis: ModelAnalysis | null;
  baseAnalysis: ModelAnalysis | null;
  marks: ReadonlyMap<string, LayerMark>;
}

/**
 * The scene's edit for the editor's state over the model on screen; null when the scene shows that model as it is
 * (the editor closed, or no change yet).
 */
export function sceneEditFor(
  summary: Pick<ModelSummary, 'analysis' | 'frameOrder'> | null,
  state: EditState,
): SceneEdit | null {
  if (!state.open || !state.marks.size) return null;
  const own = state.frames !== 'none' && summary ? summary : null;
  const analysis = state.analysis ?? own?.analysis ?? state.baseAnalysis;
  if (!analysis) return null;
  const framed = new Set(own?.frameOrder ?? []);
  const known = new Set(own?.analysis.layers.map((l) => l.id) ?? []);
  // A layer keeps its slot where the model on screen streams it; a layer the edit adds gets one.
  const frameOrder = analysis.layers
    .filter((l) => l.kind !== 'input' && (!own || framed.has(l.id) || !known.has(l.id)))
    .map((l) => l.id);
  const stale =
    state.frames === 'none'
      ? 'all'
      : state.frames === 'edited'
        ? new Set<string>()
        : staleLayers(analysis, state.changedLayers);
  return { analysis, frameOrder, marks: state.marks, stale };
}

/**
 * The marks per drawn item: a layer's own, or for a collapsed block holding marked layers, one line for them all
 * (the break, named, wins over changes).
 */
export function itemMarks(
  layout: Pick<SceneLayout, 'itemOf'>,
  marks: ReadonlyMap<string, LayerMark>,
): Map<string, LayerMark> {
  const inside = new Map<string, string[]>();
  for (const id of marks.keys()) {
    const item = layout.itemOf.get(id);
    if (item) inside.set(item.id, [...(inside.get(item.id) ?? []), id]);
  }
  const out = new Map<string, LayerMark>();
  for (const [item, ids] of inside) {
    const broken = ids.find((id) => marks.get(id)!.broken);
    if (ids.length === 1 && ids[0] === item) out.set(item, marks.get(item)!);
    else if (broken) out.set(item, { text: `${broken} ${marks.get(broken)!.text}`, broken: true });
    else if (ids.length === 1) out.set(item, { text: `${ids[0]}: ${marks.get(ids[0])!.text}`, broken: false });
    else out.set(item, { text: `${ids.length} layers changed inside`, broken: false });
  }
  return out;
}
