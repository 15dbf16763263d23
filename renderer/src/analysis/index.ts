/**
 * The layer arithmetic, shared by the engine, the UI and the CLI: pure functions over the layer graph, no tfjs.
 */
import type { ModelAnalysis, Pair } from '../../../common/analysis-types';
import type { ModelGraph } from './graph';
import { analyzeGraph } from './analyze';
import { graphFromKerasTopology, isGraphModelJson } from './keras';
import { graphFromGraphModel } from './tfgraph';

export type * from '../../../common/analysis-types';
export {
  AnalysisError,
  emptyTotals,
  analyzeGraph,
  countWeights,
  resolvePadding,
  MAX_RF_PATHS,
  type AnalyzeOptions,
} from './analyze';
export { graphFromKerasTopology, parseModelJson, isGraphModelJson, manifestValueCount } from './keras';
export { explainLayer, fmt, type Explanation } from './explain';
export { unitFootprint, footprintOnLayer, type Footprint, type IndexBox } from './footprint';
export { CONVENTIONS } from './conventions';
export { graphFromGraphModel } from './tfgraph';

/** A parsed tfjs `model.json` (layers model or graph model) as a layer graph. */
export function graphFromModelJson(json: unknown, fileName: string): ModelGraph {
  return isGraphModelJson(json) ? graphFromGraphModel(json, fileName) : graphFromKerasTopology(json, fileName);
}

/**
 * Analyses a parsed tfjs `model.json`: a layers model (Keras topology) or a graph model (TensorFlow ops), with its
 * weight manifest attached. `opts.input` ([H, W]) overrides the saved input size (required when it is open).
 * Throws AnalysisError naming `fileName` for a file that is neither.
 */
export function analyzeModelJson(json: unknown, fileName: string, opts: { input?: Pair } = {}): ModelAnalysis {
  return analyzeGraph(graphFromModelJson(json, fileName), opts);
}
