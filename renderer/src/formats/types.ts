/**
 * The format registry's contract (Netron's ModelFactory pattern, STYLE.md §8): each model format is one
 * module that recognises its files by content and opens them into the project's one layer-graph IR plus
 * named weight tensors. The analysis reads the IR; the engine's IR runner executes it. Pure TypeScript:
 * files arrive as bytes (from main's dialogs, a drop, or the CLI), never as paths to read.
 */
import type { ModelGraph, WeightStore } from '../analysis/graph';
import type { Preprocess } from '../../../common/engine-protocol';

/** One file of a model, its path relative to the model's folder ('/'-separated; a single file: its name). */
export interface ModelFile {
  path: string;
  bytes: Uint8Array;
  /**
   * The caller gives these bytes up: a format may rearrange them while reading, and the opened model's weights
   * may be views of them (the PyTorch reader aligns a legacy file's storages and converts every tensor into the
   * IR's layout in place, so a 528 MB checkpoint is not held twice). Unset: the bytes are only read.
   */
  consumable?: boolean;
}

/** Input conventions the file states (or a format's known convention), with where each came from. */
export interface PreprocessHint {
  /** Only what the model says; the engine fills the rest with its stated default. */
  preprocess: Partial<Preprocess>;
  /** One line for the UI and `--json`: "Teachable Machine convention: [−1, 1]", "Rescaling layer 1/255 in the model". */
  source: string;
}

/** A model file opened into the IR. */
export interface OpenedModel {
  /** Nodes in topological order, each weighted node's `weights` specs set from the stored tensors. */
  graph: ModelGraph;
  /** Float32 values per node, in the op's canonical layout (see WeightStore). */
  weights: WeightStore;
  /** Registry id of the format that opened it. */
  format: string;
  /** False when the weights are seeded rather than learned (an architecture edit); absent means trained. */
  trained?: boolean;
  /** What the file is, for the UI: "Keras 2.4.0 HDF5 (model.h5)", "ONNX opset 13, PyTorch 1.3 (lenet.onnx)". */
  description: string;
  /** The file the model was read from (path within the folder), for messages. */
  mainFile: string;
  /** Class names, when the files carry them (Teachable Machine metadata.json, labels.txt, classes.txt). */
  labels?: string[];
  preprocess?: PreprocessHint;
  /** Non-fatal problems met while reading (shown as warnings). */
  warnings: string[];
}

/** One model format. `match` must not throw and must look at content, not only at names. */
export interface ModelFormat {
  id: string;
  /** Human name: "Keras HDF5", "ONNX", … */
  name: string;
  /** True when these files are this format (by magic bytes and structure; names may only break ties). */
  match(files: ModelFile[]): boolean;
  /** Opens the files; throws InputError naming the file and the problem, OpenCancelledError once `signal` aborts. */
  open(files: ModelFile[], opts?: OpenOptions): Promise<OpenedModel>;
}

/** Options of an open. */
export interface OpenOptions {
  /** Aborting stops the open (a format looks at it between tensors, yielding to the event loop now and then). */
  signal?: AbortSignal;
}

/**
 * The open was stopped by its signal: not a problem with the file (the engine answers the request as cancelled).
 * Its name is the engine's CancelledError's.
 */
export class OpenCancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CancelledError';
  }
}
