/**
 * The architecture-edit file: JSON `{ "format": "feature-map-explorer/architecture-edit", "version": 1,
 * "base": "vgg16", "preset"?: "vgg16-gap", "knobs"?: { … }, "edits": [{ "layer", "field", "value" }, …],
 * "seed"?: 42 }`. Saved from the editor, reopened by drop / open as a model (formats/architecture-edit.ts).
 * An edit of a model opened from a file (not a zoo architecture) carries that model's layer graph:
 * `"base": "<its name>", "graph": { "name", "nodes", "outputs" }` (analysis/edit-graph.ts), and no preset or knobs.
 * Parsing checks everything a hand-edited or hostile file could get wrong and names the file in each message.
 */
import { applyEdits, EDIT_FIELDS, MAX_EDIT_SIDE, type EditField, type EditValue, type LayerEdit } from './edit';
import { graphForFile, graphFromJson } from './edit-graph';
import { buildEdit, findPreset, PRESETS, type ArchitectureEdit, type BuiltEdit } from './edit-presets';
import type { ModelGraph } from './graph';
import { isZooId, ZOO_IDS } from '../zoo';

export const EDIT_FILE_FORMAT = 'feature-map-explorer/architecture-edit';
export const EDIT_FILE_VERSION = 1;
/** No real edit file comes near this (DenseNet-121's graph is about 0.5 MB): it bounds what a hostile file can make us parse. */
export const MAX_EDIT_FILE_BYTES = 1 << 23;
/** Edits per file; each layer has at most six fields, so even DenseNet-121 needs far fewer. */
export const MAX_EDITS = 4096;

/** An edit file's contents: an edit of a zoo architecture, or of a model opened from a file (carrying its graph). */
export type EditFile = ZooEditFile | GraphEditFile;

/** An edit of a zoo architecture. */
export interface ZooEditFile extends ArchitectureEdit {
  graph?: undefined;
  /** Seed of the untrained weights "Run it" builds (seededWeightStore); default 42. */
  seed?: number;
}

/** An edit of a model opened from a file: its layer graph travels with the edits (no presets, no knobs). */
export interface GraphEditFile {
  /** The model's name. */
  base: string;
  /** The original layer graph (settings only). */
  graph: ModelGraph;
  preset?: undefined;
  knobs?: undefined;
  edits: LayerEdit[];
  seed?: number;
}

/** A problem with an edit file; the message starts with the file's name. */
export class EditFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'EditFileError';
  }
}

/** The file's text, pretty-printed, keys in the documented order. */
export function serializeEditFile(spec: EditFile): string {
  const out: Record<string, unknown> = { format: EDIT_FILE_FORMAT, version: EDIT_FILE_VERSION, base: spec.base };
  if (spec.preset !== undefined) out.preset = spec.preset;
  if (spec.knobs && Object.keys(spec.knobs).length) out.knobs = spec.knobs;
  out.edits = spec.edits.map((e) => ({ layer: e.layer, field: e.field, value: e.value }));
  if (spec.seed !== undefined) out.seed = spec.seed;
  if (spec.graph) out.graph = graphForFile(spec.graph);
  return JSON.stringify(out, null, 2) + '\n';
}

/**
 * The original and the edited graph of an edit file: a zoo edit through `buildEdit`, a graph edit by applying its
 * layer edits to the graph it carries. Throws like `buildEdit` (Error, EditError for a bad layer edit).
 */
export function buildFileEdit(spec: EditFile): BuiltEdit {
  if (!spec.graph) return buildEdit(spec);
  const edits = [...spec.edits];
  return {
    base: spec.graph,
    edited: applyEdits(spec.graph, edits),
    knobs: {},
    edits,
    touched: new Set(edits.map((e) => e.layer)),
  };
}

/** True when bytes look like an edit file (the format tag near the start); never throws. */
export function looksLikeEditFile(bytes: Uint8Array): boolean {
  if (bytes.length > MAX_EDIT_FILE_BYTES * 64) return false;
  const head = new TextDecoder().decode(bytes.subarray(0, 4096));
  return /^\s*\{/.test(head) && head.includes(EDIT_FILE_FORMAT);
}

const isValue = (v: unknown): v is EditValue =>
  (typeof v === 'number' && Number.isFinite(v)) ||
  v === 'same' ||
  v === 'valid' ||
  (Array.isArray(v) && v.length >= 1 && v.length <= 4 && v.every((x) => typeof x === 'number' && Number.isFinite(x)));

/**
 * Parses an edit file. Throws EditFileError naming `file` for: too large, not JSON, another format or version, an
 * unknown base or preset, malformed knobs or edits (unknown field, a value of the wrong kind). Whether a layer
 * exists and a value fits it is checked when the edit is applied (buildEdit), with the same file name added.
 */
export function parseEditFile(text: string, file: string): EditFile {
  const fail = (what: string): never => {
    throw new EditFileError(`${file}: ${what}`, file);
  };
  if (text.length > MAX_EDIT_FILE_BYTES) {
    fail(`${text.length} bytes, larger than an architecture-edit file can be (at most ${MAX_EDIT_FILE_BYTES})`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) return fail('not an architecture-edit file (not a JSON object)');
  const o = j as Record<string, unknown>;
  if (o.format !== EDIT_FILE_FORMAT) {
    fail(`not an architecture-edit file ("format" is ${JSON.stringify(o.format)}, expected "${EDIT_FILE_FORMAT}")`);
  }
  if (o.version !== EDIT_FILE_VERSION) {
    fail(`architecture-edit version ${JSON.stringify(o.version)} is not supported (this app reads version 1)`);
  }
  let graph: ModelGraph | undefined;
  if (o.graph !== undefined) {
    if (typeof o.base !== 'string' || !o.base || o.base.length > 256) fail('"base" must name the edited model');
    if (o.preset !== undefined || o.knobs !== undefined) {
      fail('presets and knobs apply to the built-in architectures only, not to an edit that carries its own graph');
    }
    try {
      graph = graphFromJson(o.graph, file);
    } catch (e) {
      throw new EditFileError((e as Error).message, file);
    }
  } else if (typeof o.base !== 'string' || !isZooId(o.base)) {
    fail(`unknown base model ${JSON.stringify(o.base)} (known: ${ZOO_IDS.join(', ')})`);
  }
  const spec: { base: string; preset?: string; knobs?: Record<string, number>; edits: LayerEdit[]; seed?: number } = {
    base: o.base as string,
    edits: [],
  };
  if (o.preset !== undefined) {
    if (typeof o.preset !== 'string' || !findPreset(o.preset)) {
      fail(`unknown preset ${JSON.stringify(o.preset)} (presets: ${PRESETS.map((p) => p.id).join(', ')})`);
    }
    spec.preset = o.preset as string;
  }
  if (o.knobs !== undefined) {
    if (!o.knobs || typeof o.knobs !== 'object' || Array.isArray(o.knobs)) fail('"knobs" must be an object of numbers');
    const knobs: Record<string, number> = {};
    for (const [k, v] of Object.entries(o.knobs as Record<string, unknown>)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`knob "${k}" must be a number, got ${JSON.stringify(v)}`);
      knobs[k] = v as number;
    }
    spec.knobs = knobs;
  }
  if (o.edits !== undefined && !Array.isArray(o.edits)) fail('"edits" must be a list');
  const edits = (o.edits ?? []) as unknown[];
  if (edits.length > MAX_EDITS) fail(`${edits.length} edits, more than an edit file may hold (${MAX_EDITS})`);
  edits.forEach((e, i) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) fail(`edit ${i + 1} is not an object`);
    const r = e as Record<string, unknown>;
    if (typeof r.layer !== 'string' || !r.layer || r.layer.length > 256)
      fail(`edit ${i + 1} has no valid "layer" name`);
    if (typeof r.field !== 'string' || !(EDIT_FIELDS as readonly string[]).includes(r.field)) {
      fail(
        `edit ${i + 1} (layer "${String(r.layer)}"): unknown field ${JSON.stringify(r.field)} (fields: ${EDIT_FIELDS.join(', ')})`,
      );
    }
    if (!isValue(r.value)) {
      fail(
        `edit ${i + 1} (layer "${String(r.layer)}"): ${String(r.field)} value ${JSON.stringify(r.value)} is not a number, a list of numbers, "same" or "valid"`,
      );
    }
    spec.edits.push({ layer: r.layer as string, field: r.field as EditField, value: r.value as EditValue });
  });
  if (o.seed !== undefined) {
    if (typeof o.seed !== 'number' || !Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) {
      fail(`"seed" must be a whole number from 0 to 4294967295, got ${JSON.stringify(o.seed)}`);
    }
    spec.seed = o.seed as number;
  }
  return graph ? { ...spec, preset: undefined, knobs: undefined, graph } : (spec as ZooEditFile);
}

/**
 * `block1_conv1.kernel=5`, `fc1.units=1024`, `block1_conv1.padding=same`, `conv1.kernel=5x3`, `pool1.padding=1,1,0,0`
 * → a LayerEdit (the command line's `--edit`). The layer name is everything before the last dot of the left side.
 */
export function parseEditArg(arg: string): LayerEdit {
  const eq = arg.indexOf('=');
  const left = eq < 0 ? arg : arg.slice(0, eq);
  const dot = left.lastIndexOf('.');
  if (eq < 0 || dot <= 0)
    throw new Error(`--edit expects LAYER.FIELD=VALUE, e.g. block1_conv1.kernel=5 (got "${arg}")`);
  const layer = left.slice(0, dot);
  const field = left.slice(dot + 1);
  if (!(EDIT_FIELDS as readonly string[]).includes(field)) {
    throw new Error(`--edit ${arg}: unknown field "${field}" (fields: ${EDIT_FIELDS.join(', ')})`);
  }
  const raw = arg.slice(eq + 1).trim();
  let value: EditValue;
  if (raw === 'same' || raw === 'valid') value = raw;
  else {
    const parts = raw.split(/\s*[x×,]\s*/i);
    const nums = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
    if (!raw || nums.some((n) => !Number.isFinite(n) || n > MAX_EDIT_SIDE * 64) || nums.length > 4) {
      throw new Error(`--edit ${arg}: value "${raw}" is not a whole number, HxW, four paddings or same / valid`);
    }
    value = nums.length === 1 ? nums[0] : nums;
  }
  return { layer, field: field as EditField, value };
}
