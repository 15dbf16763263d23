/**
 * Layer labels as HTML laid over the canvas, positioned from the scene after each render.
 *
 * Why HTML rather than SDF text in the scene (troika-three-text): the browser's own text is crisp at
 * every zoom and pixel ratio, follows the app's fonts and theme, costs no draw call (troika draws one
 * mesh per label: 300 labels would triple the draw calls), needs no font file or worker at run time
 * (the app is offline and its CSP limits workers), and is selectable and readable by screen readers.
 * Labels keep a constant screen size, so they never blur or shrink to nothing; the declutter below keeps
 * only those that fit.
 */
import type { LayerMark } from '../../analysis/edit';
import { formatCount, formatShape } from '../format';
import { THEMES } from './theme';
import type { BlockLayout, SceneLayout } from './layout';

/** A label that could be shown: its anchor on screen (CSS px) and how much it matters. */
export interface LabelCandidate {
  id: string;
  /** Anchor: the label's bottom centre sits here (top of the block's front face). */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Higher is placed first (the focused block, then the blocks largest on screen). */
  priority: number;
}

/** Rectangles overlap test with a small clearance. */
function overlaps(
  a: { x0: number; y0: number; x1: number; y1: number },
  b: { x0: number; y0: number; x1: number; y1: number },
): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

/**
 * Greedy declutter: by priority, keep each label whose box lies inside the viewport and overlaps none
 * already kept. A uniform grid of buckets keeps it near-linear for hundreds of labels.
 */
export function placeLabels(
  candidates: readonly LabelCandidate[],
  viewWidth: number,
  viewHeight: number,
  pad = 2,
): Set<string> {
  const kept = new Set<string>();
  const cell = 96;
  const buckets = new Map<number, { x0: number; y0: number; x1: number; y1: number }[]>();
  const key = (i: number, j: number): number => i * 65536 + j;
  const sorted = [...candidates].sort((a, b) => b.priority - a.priority);
  for (const c of sorted) {
    const r = { x0: c.x - c.width / 2 - pad, y0: c.y - c.height - pad, x1: c.x + c.width / 2 + pad, y1: c.y + pad };
    if (r.x0 < 0 || r.y0 < 0 || r.x1 > viewWidth || r.y1 > viewHeight) continue;
    const i0 = Math.floor(r.x0 / cell);
    const i1 = Math.floor(r.x1 / cell);
    const j0 = Math.floor(r.y0 / cell);
    const j1 = Math.floor(r.y1 / cell);
    let free = true;
    for (let i = i0; i <= i1 && free; i++)
      for (let j = j0; j <= j1 && free; j++)
        for (const o of buckets.get(key(i, j)) ?? []) if (overlaps(r, o)) free = false;
    if (!free) continue;
    kept.add(c.id);
    for (let i = i0; i <= i1; i++)
      for (let j = j0; j <= j1; j++) {
        const list = buckets.get(key(i, j));
        if (list) list.push(r);
        else buckets.set(key(i, j), [r]);
      }
  }
  return kept;
}

const KIND_NAMES: Record<string, string> = {
  inception: 'Inception module',
  branches: 'parallel branches',
  residual: 'residual block',
  'inverted-residual': 'inverted residual',
  'dense-layer': 'dense layer',
  'dense-block': 'dense block',
  transition: 'transition',
  nested: 'nested model',
};

/** The lines of an item's label: a layer's name and shape, or a collapsed block's kind, params and MACs. */
export function labelText(
  b: Pick<BlockLayout, 'name' | 'kind' | 'outputShape' | 'params'> &
    Partial<Pick<BlockLayout, 'group' | 'scale' | 'vector'>>,
): {
  title: string;
  detail: string;
} {
  // Small deep maps are drawn enlarged; say so, so their size next to the input is not misread.
  const scale = b.scale && b.scale > 1.05 ? ` · drawn ×${b.scale.toFixed(1)}` : '';
  if (b.group) {
    const g = b.group;
    return {
      title: `${g.name} ▸`,
      detail: `${KIND_NAMES[g.kind] ?? g.kind} · ${formatShape(b.outputShape)} · ${formatCount(g.params)} params · ${formatCount(g.macs)} MACs${scale}`,
    };
  }
  const params = b.params > 0 ? ` · ${formatCount(b.params)} params` : '';
  return { title: b.name, detail: `${b.kind} · ${formatShape(b.outputShape)}${params}${scale}` };
}

/** Estimated label box in CSS px (no layout read: measuring 300 labels per frame would force reflows). */
export function labelSize(text: { title: string; detail: string; extra?: string; mark?: string }): {
  width: number;
  height: number;
} {
  const extra = text.extra ? text.extra.length * 6.2 : 0;
  const mark = text.mark ? text.mark.length * 6.2 : 0;
  return {
    width: Math.max(text.title.length * 7, text.detail.length * 6.2, extra, mark) + 10,
    height: 30 + (text.extra ? 14 : 0) + (text.mark ? 14 : 0),
  };
}

/** The view a label placement is computed for. */
export interface LabelView {
  /** World → clip space (projection · view matrix, column-major 4×4 as three.js stores it). */
  viewProjection: ArrayLike<number>;
  /** World → camera space (the view matrix), for the distance in front of the camera. */
  view: ArrayLike<number>;
  width: number;
  height: number;
  /** Pixels per world unit at distance 1 (CSS px). */
  focalPx: number;
  near: number;
}

/** Smallest on-screen size (px) at which an item's label is offered, unless it is focused or a stage / block. */
export const LABEL_MIN_PX = 18;

/**
 * Label candidates of a layout for one view: each item's anchor (the top centre of its front face, or of its
 * diagram), and its priority — the focused item, then its neighbours, then collapsed blocks, the items the
 * what-if editor marks (`marked`) and stage boundaries, then the items largest on screen. Items too small on
 * screen are left out (they appear as you zoom in), except those that matter most.
 */
export function labelCandidates(
  layout: Pick<SceneLayout, 'blocks' | 'gap'>,
  view: LabelView,
  sizeOf: (id: string) => { width: number; height: number } | undefined,
  focus: string | null,
  marked: ReadonlySet<string> = new Set(),
): { candidates: LabelCandidate[]; anchors: Map<string, { x: number; y: number }> } {
  const m = view.viewProjection;
  const v = view.view;
  const candidates: LabelCandidate[] = [];
  const anchors = new Map<string, { x: number; y: number }>();
  const focusIndex = focus ? layout.blocks.findIndex((b) => b.id === focus) : -1;
  for (const b of layout.blocks) {
    const top = b.y + b.height / 2 + (b.group ? b.group.diagram.box[3] - b.y - b.height / 2 : 0);
    const x = b.x;
    const y = top;
    const depth = -(v[2] * x + v[6] * y + v[14]);
    if (depth <= view.near) continue;
    const cw = m[3] * x + m[7] * y + m[15];
    const sx = ((m[0] * x + m[4] * y + m[12]) / cw) * 0.5 + 0.5;
    const sy = (-(m[1] * x + m[5] * y + m[13]) / cw) * 0.5 + 0.5;
    const px = sx * view.width;
    const py = sy * view.height - 3;
    anchors.set(b.id, { x: px, y: py });
    const sizePx = (Math.max(b.height, b.width) * view.focalPx) / depth;
    const near = focusIndex >= 0 && Math.abs(b.index - focusIndex) <= 1;
    const important = b.id === focus ? 4 : near ? 3 : b.group || marked.has(b.id) ? 2 : b.stageStart ? 1 : 0;
    if (sizePx < LABEL_MIN_PX && important < 3 && !(important > 0 && sizePx >= LABEL_MIN_PX / 2)) continue;
    const size = sizeOf(b.id);
    if (!size) continue;
    // A literal, not `{ ...size, priority }`: V8 defines properties after a spread one at a time (µs each, every draw).
    candidates.push({
      id: b.id,
      x: px,
      y: py,
      width: size.width,
      height: size.height,
      priority: important * 1e6 + sizePx,
    });
  }
  return { candidates, anchors };
}

/** True when two placed labels' rectangles overlap (the same rectangles `placeLabels` keeps apart). */
export function labelRect(c: Pick<LabelCandidate, 'x' | 'y' | 'width' | 'height'>): {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
} {
  return { x0: c.x - c.width / 2, y0: c.y - c.height, x1: c.x + c.width / 2, y1: c.y };
}

export interface LabelTheme {
  text: string;
  muted: string;
  halo: string;
  accent: string;
  /** The editor's mark lines: a changed layer's, and the broken layer's (default: the light theme's). */
  changed?: string;
  broken?: string;
}

interface LabelEntry {
  el: HTMLDivElement;
  size: { width: number; height: number };
  shown: boolean;
  transform: string;
  state: string;
  text: { title: string; detail: string };
  extra?: HTMLDivElement;
  /** The editor's mark line and its text. */
  mark?: HTMLDivElement;
}

/** The overlay element and its labels. Created over `canvas` inside the canvas's parent. */
export class LabelOverlay {
  readonly root: HTMLDivElement;
  private entries = new Map<string, LabelEntry>();
  private theme: LabelTheme;
  private marks: ReadonlyMap<string, LayerMark> = new Map();

  constructor(
    private readonly canvas: HTMLCanvasElement,
    theme: LabelTheme,
  ) {
    this.theme = theme;
    const doc = canvas.ownerDocument;
    this.root = doc.createElement('div');
    this.root.className = 'fme-scene-labels';
    this.root.setAttribute('aria-hidden', 'true');
    Object.assign(this.root.style, {
      position: 'absolute',
      pointerEvents: 'none',
      overflow: 'hidden',
      left: '0px',
      top: '0px',
      width: '0px',
      height: '0px',
      font: '12px/1.25 system-ui, -apple-system, "Segoe UI", sans-serif',
      contain: 'strict',
    } satisfies Partial<CSSStyleDeclaration>);
    canvas.parentElement?.appendChild(this.root);
    this.fit();
  }

  /** Follows the canvas's box within its offset parent (call after a resize). */
  fit(): void {
    const s = this.root.style;
    s.left = `${this.canvas.offsetLeft}px`;
    s.top = `${this.canvas.offsetTop}px`;
    s.width = `${this.canvas.clientWidth}px`;
    s.height = `${this.canvas.clientHeight}px`;
  }

  /** Replaces the labels with those of `blocks`. */
  setBlocks(blocks: readonly BlockLayout[]): void {
    this.clear();
    const doc = this.canvas.ownerDocument;
    for (const b of blocks) {
      const text = labelText(b);
      const el = doc.createElement('div');
      el.className = 'fme-scene-label';
      el.dataset.layerId = b.id;
      Object.assign(el.style, {
        position: 'absolute',
        left: '0px',
        top: '0px',
        display: 'none',
        whiteSpace: 'nowrap',
        textAlign: 'center',
        willChange: 'transform',
      } satisfies Partial<CSSStyleDeclaration>);
      const title = doc.createElement('div');
      title.textContent = text.title;
      title.style.fontWeight = '600';
      const detail = doc.createElement('div');
      detail.textContent = text.detail;
      detail.style.fontSize = '11px';
      el.append(title, detail);
      if (b.group) el.dataset.blockId = b.group.id;
      this.root.appendChild(el);
      this.entries.set(b.id, { el, size: labelSize(text), shown: false, transform: '', state: '', text });
    }
    this.applyTheme();
    this.setMarks(this.marks);
  }

  /**
   * The what-if editor's line under the labels of marked items ("k 3→5 · +38,592 params"; a break in the broken
   * colour), by item id; other labels lose theirs.
   */
  setMarks(marks: ReadonlyMap<string, LayerMark>): void {
    this.marks = marks;
    for (const [id, e] of this.entries) {
      const m = marks.get(id);
      if (!m) {
        e.mark?.remove();
        e.mark = undefined;
      } else {
        if (!e.mark) {
          e.mark = this.canvas.ownerDocument.createElement('div');
          e.mark.className = 'fme-scene-label-mark';
          e.mark.style.fontSize = '11px';
          e.mark.style.fontWeight = '600';
          e.el.insertBefore(e.mark, e.extra ?? null);
        }
        e.mark.textContent = m.text;
        e.mark.dataset.broken = String(m.broken);
        e.mark.style.color = m.broken
          ? (this.theme.broken ?? THEMES.light.broken)
          : (this.theme.changed ?? THEMES.light.changed);
      }
      e.size = labelSize({ ...e.text, extra: e.extra?.textContent ?? undefined, mark: m?.text });
    }
  }

  /** The mark line under an item's label, or undefined (tests). */
  markText(id: string): string | undefined {
    return this.entries.get(id)?.mark?.textContent ?? undefined;
  }

  setTheme(theme: LabelTheme): void {
    this.theme = theme;
    this.applyTheme();
    this.setMarks(this.marks);
  }

  private applyTheme(): void {
    const t = this.theme;
    for (const e of this.entries.values()) {
      e.el.style.color = t.text;
      e.el.style.textShadow = `0 0 3px ${t.halo}, 0 0 2px ${t.halo}, 0 0 1px ${t.halo}`;
      e.state = '';
    }
  }

  /**
   * A third line under one label (the output layer's prediction), or none; other labels lose theirs.
   * The label's estimated size follows.
   */
  setExtra(id: string | null, line: string | null): void {
    for (const [key, e] of this.entries) {
      const want = key === id && line ? line : null;
      if (!want) {
        if (e.extra) {
          e.extra.remove();
          e.extra = undefined;
          e.size = labelSize({ ...e.text, mark: e.mark?.textContent ?? undefined });
        }
        continue;
      }
      if (!e.extra) {
        e.extra = this.canvas.ownerDocument.createElement('div');
        e.extra.className = 'fme-scene-label-extra';
        e.extra.style.fontSize = '11px';
        e.extra.style.fontWeight = '600';
        e.el.appendChild(e.extra);
      }
      e.extra.textContent = want;
      e.size = labelSize({ ...e.text, extra: want, mark: e.mark?.textContent ?? undefined });
    }
  }

  /** Estimated size of a label (for `placeLabels`). */
  sizeOf(id: string): { width: number; height: number } | undefined {
    return this.entries.get(id)?.size;
  }

  /**
   * Shows the labels of `visible` at their anchors (CSS px) and hides the rest. `states` marks the
   * focused label and those whose frames have not arrived yet. Only changed styles are written.
   */
  show(
    anchors: ReadonlyMap<string, { x: number; y: number }>,
    visible: ReadonlySet<string>,
    states: ReadonlyMap<string, 'focus' | 'ghost' | 'normal'>,
  ): void {
    for (const [id, e] of this.entries) {
      const on = visible.has(id);
      if (on !== e.shown) {
        e.el.style.display = on ? 'block' : 'none';
        e.shown = on;
      }
      if (!on) continue;
      const a = anchors.get(id);
      if (!a) continue;
      const transform = `translate(${Math.round(a.x)}px, ${Math.round(a.y)}px) translate(-50%, -100%)`;
      if (transform !== e.transform) {
        e.el.style.transform = transform;
        e.transform = transform;
      }
      const state = states.get(id) ?? 'normal';
      if (state !== e.state) {
        const focus = state === 'focus';
        const st = e.el.style;
        st.color = this.theme.text;
        st.opacity = state === 'ghost' ? '0.55' : '1';
        st.zIndex = focus ? '1' : '0';
        // The focused label sits on a plate with an accent frame: readable over the block it names.
        st.background = focus ? this.theme.halo : 'transparent';
        st.border = focus ? `1px solid ${this.theme.accent}` : '1px solid transparent';
        st.borderRadius = '4px';
        st.padding = '1px 6px';
        e.state = state;
      }
    }
  }

  /** Ids of the labels currently shown (tests, e2e). */
  shownIds(): string[] {
    return [...this.entries].filter(([, e]) => e.shown).map(([id]) => id);
  }

  clear(): void {
    for (const e of this.entries.values()) e.el.remove();
    this.entries.clear();
  }

  dispose(): void {
    this.clear();
    this.root.remove();
  }
}
