/**
 * A unit pinned in a Compare pane: the same place in another model (the layer of matching relative depth, the unit
 * whose receptive field is centred nearest the same spot of the image), and the receptive-field view the 3D scene
 * draws for it (the cone through the earlier layers and the box on the input image).
 */
import type { ModelAnalysis } from '../../../../common/analysis-types';
import type { ModelSummary } from '../../../../common/engine-protocol';
import { footprintOnLayer, unitFootprint } from '../../analysis';
import type { ReceptiveFieldView } from '../scene';
import { alignIndex, type ModelLayout } from './alignment';

/** A unit of a pane's model: layer, output channel and position. */
export interface PaneUnit {
  layerId: string;
  channel: number;
  y: number;
  x: number;
}

export const sameUnit = (a: PaneUnit | null, b: PaneUnit | null): boolean =>
  !!a && !!b && a.layerId === b.layerId && a.channel === b.channel && a.y === b.y && a.x === b.x;

/** The layer's spatial receptive field and output size, or null for a layer without one (dense, flatten). */
function spatialLayer(analysis: ModelAnalysis, layerId: string) {
  const l = analysis.layers.find((q) => q.id === layerId);
  return l?.receptiveField && l.outputShape.length === 3 ? { rf: l.receptiveField, shape: l.outputShape } : null;
}

/**
 * `unit` of model `from` at the same place in model `to`: the layer of the same name where `to` has one (the same
 * architecture, trained beside untrained), else the layer at the matching relative depth (alignIndex's 'depth'
 * rule); in it the unit whose receptive-field centre is nearest the same point of the image (as a fraction of
 * each model's input size: both see the image resized to their input), the same channel where it exists (else
 * the last). Null when either layer is not spatial or the unit's layer is not a stepping position.
 */
export function samePlace(
  from: { analysis: ModelAnalysis; layout: ModelLayout },
  unit: PaneUnit,
  to: { analysis: ModelAnalysis; layout: ModelLayout },
): PaneUnit | null {
  const src = spatialLayer(from.analysis, unit.layerId);
  const j =
    to.layout.indexOf.get(unit.layerId) ??
    alignIndex(from.layout, from.layout.order.indexOf(unit.layerId), to.layout, 'depth');
  if (!src || j === null) return null;
  const layerId = to.layout.order[j];
  const dst = spatialLayer(to.analysis, layerId);
  if (!dst) return null;
  const pos = ([u, axis]: [number, 0 | 1]) => {
    const share = (src.rf.start[axis] + u * src.rf.jump[axis]) / from.analysis.input[axis];
    const v = Math.round((share * to.analysis.input[axis] - dst.rf.start[axis]) / dst.rf.jump[axis]);
    return Math.min(Math.max(v, 0), dst.shape[axis] - 1);
  };
  return {
    layerId,
    channel: Math.min(unit.channel, dst.shape[2] - 1),
    y: pos([unit.y, 0]),
    x: pos([unit.x, 1]),
  };
}

/** What the 3D scene draws for a unit: its field on every earlier spatial layer and on the input image. */
export function receptiveFieldView(summary: ModelSummary, unit: PaneUnit): ReceptiveFieldView | null {
  const a = summary.analysis;
  if (!spatialLayer(a, unit.layerId)) return null;
  const index = summary.frameOrder.indexOf(unit.layerId);
  const regions = summary.frameOrder
    .slice(0, Math.max(0, index))
    .filter((id) => spatialLayer(a, id))
    .map((id) => ({ layerId: id, ...footprintOnLayer(a, unit.layerId, unit.y, unit.x, id) }));
  return {
    layerId: unit.layerId,
    y: unit.y,
    x: unit.x,
    regions,
    image: { ...unitFootprint(a, unit.layerId, unit.y, unit.x), inputH: a.input[0], inputW: a.input[1] },
  };
}
