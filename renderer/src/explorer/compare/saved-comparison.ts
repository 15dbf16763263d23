/**
 * A saved comparison: a small JSON file that names the image and the models by reference (a sample, a file
 * path, a model id), never embedding their bytes. Schema + validation (valibot) and the reopen plan, which
 * resolves each reference and lists what is missing instead of failing.
 */
import * as v from 'valibot';
import type { ModelEntry, ModelSource, UserModelFiles } from '../../../../common/engine-protocol';
import type { OpenedFile } from '../../../../common/ipc-contract';
import type { LinkMode } from './alignment';

/** The `format` field every saved comparison carries. */
export const COMPARISON_FORMAT = 'feature-map-explorer/comparison';
/** The schema version this app writes and reads. */
export const COMPARISON_VERSION = 1;
/** The default file extension (plain JSON; the double extension keeps it recognisable). */
export const COMPARISON_EXT = '.fme-compare.json';
/** Most models in one comparison (panes side by side; the engine keeps 4 loaded). */
export const MAX_MODELS = 4;

const nonEmpty = (what: string) => v.pipe(v.string(`${what} must be a string`), v.minLength(1, `${what} is empty`));

const ImageRefSchema = v.object({
  /** 'sample': one of resources/samples, by file name; 'file': a file the user opened. */
  kind: v.picklist(['sample', 'file'], 'image.kind must be "sample" or "file"'),
  name: nonEmpty('image.name'),
  /** The path as the host knows it (a full path under Electron when available, else the file name). */
  path: nonEmpty('image.path'),
});

const ModelRefSchema = v.object({
  id: nonEmpty('model id'),
  name: nonEmpty('model name'),
  source: v.picklist(['bundled', 'zoo', 'user'], 'model source must be "bundled", "zoo" or "user"'),
  /** For 'user' models: the path of the model's folder or model.json. */
  path: v.optional(nonEmpty('model path')),
});

const SavedComparisonSchema = v.pipe(
  v.object({
    format: v.literal(COMPARISON_FORMAT, `format must be "${COMPARISON_FORMAT}"`),
    version: v.literal(
      COMPARISON_VERSION,
      `version must be ${COMPARISON_VERSION} (this app reads version ${COMPARISON_VERSION})`,
    ),
    savedAt: v.optional(v.string()),
    image: v.nullable(ImageRefSchema),
    models: v.pipe(
      v.array(ModelRefSchema, 'models must be a list'),
      v.minLength(1, 'models is empty'),
      v.maxLength(MAX_MODELS, `models has more than ${MAX_MODELS} entries`),
      v.check((ms) => new Set(ms.map((m) => m.id)).size === ms.length, 'models lists the same model twice'),
    ),
    link: v.object({
      camera: v.boolean('link.camera must be true or false'),
      stepping: v.picklist(['stage', 'depth', 'off'], 'link.stepping must be "stage", "depth" or "off"'),
    }),
    /** The focused layer of the first pane (the others follow by the link), when one was focused. */
    focus: v.optional(v.object({ model: nonEmpty('focus.model'), layerId: nonEmpty('focus.layerId') })),
  }),
  v.check((c) => c.models.every((m) => m.source !== 'user' || !!m.path), 'a "user" model needs a path'),
);

/** How a saved comparison refers to its image. */
export type SavedImageRef = v.InferOutput<typeof ImageRefSchema>;
/** How a saved comparison refers to one model. */
export type SavedModelRef = v.InferOutput<typeof ModelRefSchema>;
/** A validated saved comparison. */
export type SavedComparison = v.InferOutput<typeof SavedComparisonSchema>;

/** What is being saved: the current comparison's references and settings. */
export interface ComparisonState {
  image: SavedImageRef | null;
  models: { id: string; name: string; source: ModelSource; path?: string }[];
  link: { camera: boolean; stepping: LinkMode };
  focus?: { model: string; layerId: string };
}

/** Serialises a comparison (pretty JSON, a trailing newline). */
export function serializeComparison(state: ComparisonState, savedAt: Date = new Date()): string {
  const doc: SavedComparison = {
    format: COMPARISON_FORMAT,
    version: COMPARISON_VERSION,
    savedAt: savedAt.toISOString(),
    image: state.image,
    models: state.models.map((m) => ({
      id: m.id,
      name: m.name,
      source: m.source,
      ...(m.path ? { path: m.path } : {}),
    })),
    link: state.link,
    ...(state.focus ? { focus: state.focus } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A saved comparison that could not be read; the message names the file and the problem. */
export class ComparisonFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'ComparisonFileError';
  }
}

/** Parses and validates a saved comparison's text. Throws ComparisonFileError naming `fileName` and every problem. */
export function parseComparison(text: string, fileName: string): SavedComparison {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ComparisonFileError(fileName, `${fileName}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ComparisonFileError(
      fileName,
      `${fileName}: expected a JSON object, found ${Array.isArray(json) ? 'a list' : typeof json}`,
    );
  }
  if ((json as { format?: unknown }).format !== COMPARISON_FORMAT) {
    throw new ComparisonFileError(
      fileName,
      `${fileName}: not a saved comparison (its "format" is not "${COMPARISON_FORMAT}")`,
    );
  }
  const result = v.safeParse(SavedComparisonSchema, json);
  if (!result.success) {
    const problems = result.issues.map((issue) => {
      const path = v.getDotPath(issue);
      return path && !issue.message.startsWith(path) ? `${path}: ${issue.message}` : issue.message;
    });
    throw new ComparisonFileError(fileName, `${fileName}: ${[...new Set(problems)].join('; ')}`);
  }
  return result.output;
}

/**
 * How references are turned into bytes on this host. The browser build resolves samples from its own
 * resources and files among those the user picked with the comparison; Electron can resolve paths via IPC.
 * Each returns null when the reference cannot be found (it is then reported as missing).
 */
export interface ComparisonResolver {
  image(ref: SavedImageRef): Promise<OpenedFile | null>;
  /** A user model's files, or null. Only asked for user models the engine does not already know by id. */
  userModel(ref: SavedModelRef): Promise<UserModelFiles | null>;
}

/** One model to open: already known to the engine by id, or a user model to load from files. */
export type ResolvedModel =
  { kind: 'known'; ref: SavedModelRef } | { kind: 'files'; ref: SavedModelRef; files: UserModelFiles };

/** What reopening found: the image, the models to open, and what is missing. */
export interface ReopenPlan {
  image: OpenedFile | null;
  models: ResolvedModel[];
  /** One line per reference that could not be resolved, for the user. */
  missing: string[];
}

/**
 * Resolves a saved comparison against the engine's model list and the host's files. Nothing missing is
 * fatal: the plan holds what was found and a line for each thing that was not.
 */
export async function planReopen(
  saved: SavedComparison,
  known: readonly Pick<ModelEntry, 'id'>[],
  resolver: ComparisonResolver,
): Promise<ReopenPlan> {
  const missing: string[] = [];
  let image: OpenedFile | null = null;
  if (saved.image) {
    try {
      image = await resolver.image(saved.image);
    } catch (e) {
      missing.push(`image ${saved.image.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!image && !missing.length) missing.push(`image ${saved.image.path}: not found`);
  }
  const knownIds = new Set(known.map((m) => m.id));
  const models: ResolvedModel[] = [];
  for (const ref of saved.models) {
    if (knownIds.has(ref.id)) {
      models.push({ kind: 'known', ref });
      continue;
    }
    if (ref.source !== 'user') {
      missing.push(`model ${ref.name} (${ref.id}): not available in this version of the app`);
      continue;
    }
    try {
      const files = await resolver.userModel(ref);
      if (files) models.push({ kind: 'files', ref, files });
      else missing.push(`model ${ref.name} (${ref.path ?? ref.id}): not found — open it with "Add your model…"`);
    } catch (e) {
      missing.push(`model ${ref.name} (${ref.path ?? ref.id}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { image, models, missing };
}
