/** Scene colours per theme, matching the app's CSS variables in ../theme.css. */

export type Theme = 'light' | 'dark';

export interface SceneColors {
  background: string;
  /** Outline of a block whose frame has arrived. */
  outline: string;
  /** Outline of a block still waiting for its frame. */
  ghost: string;
  /** The focused block's outline and label. */
  focus: string;
  /** Graph edges between blocks. */
  edge: string;
  /** Receptive field: cone and regions inside the image / layer. */
  field: string;
  /** Receptive field: the part that falls on padding outside the image / layer. */
  padding: string;
  text: string;
  muted: string;
  /** Residual skip arcs. */
  skip: string;
  /** Concatenation connectors (DenseNet's stack of earlier maps). */
  concat: string;
  /** A collapsed block's frame and wiring diagram. */
  group: string;
  /** The what-if editor's marks: a layer the edit changes, and the layer where it breaks the network. */
  changed: string;
  broken: string;
}

export const THEMES: Readonly<Record<Theme, SceneColors>> = {
  light: {
    background: '#f6f7f9',
    outline: '#5b6472',
    ghost: '#c3c9d3',
    focus: '#2f6fde',
    edge: '#9aa3b2',
    field: '#e8590c',
    padding: '#8e44ad',
    text: '#1b1f24',
    muted: '#5b6472',
    skip: '#d6336c',
    concat: '#0c8599',
    group: '#7048e8',
    changed: '#e67700',
    broken: '#e03131',
  },
  dark: {
    background: '#111418',
    outline: '#98a2b3',
    ghost: '#3a414d',
    focus: '#5b8ff0',
    edge: '#566072',
    field: '#ffa94d',
    padding: '#d291ff',
    text: '#e6e9ee',
    muted: '#98a2b3',
    skip: '#f06595',
    concat: '#3bc9db',
    group: '#9775fa',
    changed: '#fab005',
    broken: '#ff6b6b',
  },
};

/** '#rrggbb' → [r, g, b] in 0..1, sRGB (not linearised: the tile shader writes sRGB as is). */
export function srgb(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new Error(`theme: "${hex}" is not a #rrggbb colour`);
  const n = parseInt(m[1], 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}
