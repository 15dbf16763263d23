/**
 * What `summary` and `inspect` share: reading a model argument (a file or a folder) into the files the engine
 * and the format registry take, and the Keras-style table. Reading follows the app's rule: the chosen file, plus
 * the label and external-data files beside it; a folder, its files (not following links out of it).
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { CONVENTIONS, fmt, type LayerAnalysis, type ModelAnalysis, type Pair } from '../renderer/src/analysis';
import type { UserModelFiles } from '../common/engine-protocol';
import { rfShort, signed, type EditDiff, type LayerNumbers } from '../renderer/src/analysis/edit';

/** A usage or lookup problem, reported as one line with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** Files beside a chosen model file that a format may need: class names and ONNX external weights. */
const SIBLINGS = /^(labels\.txt|classes\.txt|metadata\.json)$|\.data$|\.bin$/i;
const MAX_FILE_BYTES = 2 * 1024 ** 3 - 1;
const MAX_TOTAL_BYTES = 4 * 1024 ** 3;
const MAX_FILES = 2000;

const readBytes = (path: string): ArrayBuffer => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

/** The files of a model argument, paths relative to its folder; throws CliError naming the path. */
export function readModelArg(path: string): UserModelFiles {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new CliError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1);
  }
  const files: { path: string; bytes: ArrayBuffer }[] = [];
  let total = 0;
  const add = (abs: string, rel: string) => {
    const size = statSync(abs).size;
    if (size > MAX_FILE_BYTES) throw new CliError(`${abs}: ${size} bytes, larger than a model file can be`, 1);
    total += size;
    if (total > MAX_TOTAL_BYTES) throw new CliError(`${path}: more than 4 GiB of files`, 1);
    files.push({ path: rel.split(sep).join('/'), bytes: readBytes(abs) });
  };
  if (st.isDirectory()) {
    const root = realpathSync(path);
    const walk = (dir: string, depth: number) => {
      for (const name of readdirSync(dir).sort()) {
        const abs = join(dir, name);
        const l = lstatSync(abs);
        if (l.isSymbolicLink()) {
          // A link may point anywhere: only ones that stay inside the model's folder are read.
          const real = realpathSync(abs);
          if (!real.startsWith(root + sep)) continue;
        }
        const s = statSync(abs);
        if (s.isDirectory()) {
          if (depth < 3 && !name.startsWith('.')) walk(abs, depth + 1);
        } else if (s.isFile()) {
          if (files.length >= MAX_FILES) throw new CliError(`${path}: more than ${MAX_FILES} files`, 1);
          add(abs, relative(root, realpathSync(abs)) || name);
        }
      }
    };
    walk(root, 0);
    return { name: basename(root), files };
  }
  add(path, basename(path));
  const dir = dirname(path);
  for (const name of readdirSync(dir).sort()) {
    if (name === basename(path) || !SIBLINGS.test(name)) continue;
    const abs = join(dir, name);
    if (statSync(abs).isFile()) add(abs, name);
  }
  return { name: basename(path), files };
}

/** At most `n` warnings, then how many more: one unknown layer makes every later shape unknown. */
export function firstWarnings(warnings: string[], n = 5): string[] {
  return warnings.length > n ? [...warnings.slice(0, n), `… and ${warnings.length - n} more`] : warnings;
}

export const rfText = (l: LayerAnalysis): string => {
  const rf = l.receptiveField;
  if (!rf) return '-';
  const two = (p: Pair) => (p[0] === p[1] ? `${p[0]}` : `${p[0]}×${p[1]}`);
  return `${two(rf.size)} / ${two(rf.jump)} / ${two(rf.start)}${rf.paths && rf.paths.length > 1 ? ` (${rf.paths.length} paths)` : ''}`;
};

const shapeText = (s: number[]): string => (s.length ? `(${s.join(', ')})` : '(unknown)');

/** 15470264320 → "15.47 G". */
export function short(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return `${n}`;
}

const pct = (a: number, b: number): string => (b ? `${((100 * a) / b).toFixed(1)}%` : '0%');

/** Extra columns a caller adds to the table (inspect: activation statistics), by layer id. */
export interface ExtraColumns {
  headers: string[];
  cells(l: LayerAnalysis): string[];
}

/** The Keras-style table plus totals, stages, conventions and warnings. */
export function renderTable(label: string, a: ModelAnalysis, extra?: ExtraColumns): string {
  const headers = [
    'Layer (type)',
    'Output Shape',
    'Param #',
    'MACs',
    'RF size / jump / start',
    ...(extra?.headers ?? []),
    'Connected to',
  ];
  const rows = a.layers.map((l) => [
    `${l.name} (${l.className})`,
    shapeText(l.outputShape),
    fmt(l.params.total),
    l.macs ? fmt(l.macs) : '0',
    rfText(l),
    ...(extra?.cells(l) ?? []),
    l.inputs.join(', '),
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([2, 3, ...(extra?.headers ?? []).map((_, i) => 5 + i)]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const total = widths.reduce((s, w) => s + w + 2, -2);
  const out: string[] = [];
  out.push(`Model: "${a.name ?? label}"  (input ${a.input.join('×')})`);
  out.push('_'.repeat(total));
  out.push(line(headers));
  out.push('='.repeat(total));
  rows.forEach((r) => out.push(line(r)));
  out.push('='.repeat(total));
  const t = a.totals;
  out.push(`Total params: ${fmt(t.params)} (${((t.params * 4) / 2 ** 20).toFixed(2)} MB as float32)`);
  out.push(`Trainable params: ${fmt(t.trainable)}`);
  out.push(`Non-trainable params: ${fmt(t.nonTrainable)} (BatchNorm moving mean/variance; Keras convention)`);
  out.push(`Params without BN statistics (PyTorch convention): ${fmt(t.paramsWithoutBnStats)}`);
  if (t.frozenParams) out.push(`Saved as frozen (trainable: false) in the file: ${fmt(t.frozenParams)}`);
  out.push(`Multiply-accumulates: ${fmt(t.macs)} MACs (${short(t.macs)}; FLOPs = 2 × MACs = ${short(2 * t.macs)})`);
  out.push(
    `Dense layers: ${fmt(t.denseParams)} params (${pct(t.denseParams, t.params)}); conv layers: ${fmt(t.convParams)} (${pct(t.convParams, t.params)}); weighted layers: ${t.depth}`,
  );
  const lastSpatial = [...a.layers].reverse().find((l) => l.receptiveField);
  if (lastSpatial?.receptiveField) {
    const rf = lastSpatial.receptiveField;
    out.push(
      `Receptive field of the last spatial layer "${lastSpatial.name}": ${rf.size.join('×')} px, jump ${rf.jump.join('×')}, start ${rf.start.join(', ')}`,
    );
  }
  out.push('');
  out.push('Stages (layers grouped by output resolution):');
  const stageRows = a.stages.map((s) => [
    `${s.index}`,
    s.resolution.join('×'),
    `${s.layerIds.length}`,
    fmt(s.params),
    fmt(s.macs),
  ]);
  const sh = ['#', 'resolution', 'layers', 'params', 'MACs'];
  const sw = sh.map((h, i) => Math.max(h.length, ...stageRows.map((r) => r[i].length)));
  const sline = (r: string[]) => '  ' + r.map((c, i) => (i >= 2 ? c.padStart(sw[i]) : c.padEnd(sw[i]))).join('  ');
  out.push(sline(sh));
  stageRows.forEach((r) => out.push(sline(r)));
  out.push('');
  out.push('Conventions:');
  CONVENTIONS.split('\n').forEach((c) => out.push(`  - ${c}`));
  if (a.warnings.length) {
    out.push('');
    out.push('Warnings:');
    firstWarnings(a.warnings).forEach((w) => out.push(`  - ${w}`));
  }
  return out.join('\n');
}

/** The per-layer part of both commands' `--json`. */
export function layerJson(l: LayerAnalysis): Record<string, unknown> {
  return {
    name: l.name,
    kind: l.kind,
    outputShape: l.outputShape,
    params: l.params.total,
    macs: l.macs,
    receptiveField: l.receptiveField
      ? { size: l.receptiveField.size, jump: l.receptiveField.jump, start: l.receptiveField.start }
      : null,
  };
}

/** Errors as one line: the message without its line breaks. */
export const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');

/** The what-if editor's diff as text: the changed, added and removed layers, then the totals and the final field. */
export function renderDiff(diff: EditDiff): string {
  const shape = (n?: LayerNumbers) => (n ? shapeText(n.outputShape) : '—');
  const pair = <T>(b: T | undefined, a: T | undefined, f: (v: T) => string) =>
    `${b === undefined ? '—' : f(b)} → ${a === undefined ? '—' : f(a)}`;
  const headers = [
    'Layer',
    'Change',
    'Output Shape',
    'Param #',
    'Δ params',
    'MACs',
    'Δ MACs',
    'RF size / jump / start',
  ];
  const rows = diff.layers
    .filter((r) => r.status !== 'same')
    .map((r) => [
      r.name + (r.inexact ? ' *' : ''),
      r.status,
      r.status === 'changed' && r.before && r.after && shape(r.before) === shape(r.after)
        ? shape(r.after)
        : pair(r.before, r.after, (n) => shape(n)),
      pair(r.before?.params, r.after?.params, fmt),
      signed(r.params),
      pair(r.before?.macs, r.after?.macs, fmt),
      signed(r.macs),
      r.rfChanged ? pair(r.before?.rf, r.after?.rf, rfShort) : rfShort((r.after ?? r.before)?.rf ?? null),
    ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([3, 4, 5, 6]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const total = widths.reduce((s, w) => s + w + 2, -2);
  const t = diff.totals;
  const rel = (b: number, a: number) =>
    b ? ` (${signed(a - b)}, ${a >= b ? '+' : '−'}${Math.abs((100 * (a - b)) / b).toFixed(1)}%)` : '';
  const out = [
    `Diff against the original (${rows.length} layer${rows.length === 1 ? '' : 's'} changed, added or removed):`,
    '_'.repeat(total),
    line(headers),
    '='.repeat(total),
    ...rows.map(line),
    '='.repeat(total),
    `Total params: ${fmt(t.paramsBefore)} → ${fmt(t.paramsAfter)}${rel(t.paramsBefore, t.paramsAfter)}`,
    `Multiply-accumulates: ${fmt(t.macsBefore)} → ${fmt(t.macsAfter)}${rel(t.macsBefore, t.macsAfter)}`,
    `Dense layers: ${fmt(t.denseParamsBefore)} → ${fmt(t.denseParamsAfter)} params; conv layers: ${fmt(t.convParamsBefore)} → ${fmt(t.convParamsAfter)}`,
    `Receptive field of the last spatial layer: ${rfShort(diff.finalRf.before)} (${diff.finalRf.layerBefore ?? '-'}) → ${rfShort(diff.finalRf.after)} (${diff.finalRf.layerAfter ?? '-'})`,
  ];
  if (rows.some((r) => r[0].endsWith(' *'))) out.push('* output size not a whole number (see the warnings)');
  return out.join('\n');
}
