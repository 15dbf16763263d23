/**
 * The what-if editor's update time: one single change on DenseNet-121 (the zoo's largest graph, 429 layers, 37,000
 * receptive-field paths) → edited graph, shapes, params, MACs, receptive fields and the diff, exactly what the UI
 * runs per slider move (analysis/edit-session.ts). Target (issue 13): ≤ 16 ms, one frame. Medians of warm runs.
 *
 *   npx tsx scripts/bench-edit.ts [--reps 30] [--json]
 */
import { cpus, loadavg } from 'node:os';
import { EditSession } from '../renderer/src/analysis/edit-session';
import type { LayerEdit } from '../renderer/src/analysis/edit';
import type { KnobValues } from '../renderer/src/zoo';

export interface EditBenchRow {
  change: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /**
   * Median CPU time (user + system) of this process per update: what the update costs when the machine is shared
   * (wall time then includes waiting for a core; on an idle machine the two agree).
   */
  cpuMedianMs: number;
  /** Layers whose numbers changed (a check that the change really propagated). */
  changedLayers: number;
}

/** The target: one frame at 60 Hz. */
export const EDIT_TARGET_MS = 16;

const CHANGES: { change: string; knobs?: KnobValues; edit?: LayerEdit }[] = [
  // The first conv: every receptive field downstream moves.
  { change: 'conv1_conv.kernel 7 → 5', edit: { layer: 'conv1_conv', field: 'kernel', value: 5 } },
  { change: 'pool1.stride 2 → 1', edit: { layer: 'pool1', field: 'stride', value: 1 } },
  {
    change: 'conv2_block1_2_conv.filters 32 → 48',
    edit: { layer: 'conv2_block1_2_conv', field: 'filters', value: 48 },
  },
  { change: 'knob growthRate 32 → 12', knobs: { growthRate: 12 } },
  { change: 'knob compression 0.5 → 0.7', knobs: { compression: 0.7 } },
  { change: 'predictions.units 1000 → 10', edit: { layer: 'predictions', field: 'units', value: 10 } },
];

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Times every change `reps` times after three warm-up rounds of all of them. */
export function runEditBench(opts: { reps?: number } = {}): EditBenchRow[] {
  const reps = opts.reps ?? 30;
  const session = new EditSession('densenet121');
  const apply = ({ knobs, edit }: (typeof CHANGES)[number]) => {
    session.reset();
    session.knobs = { ...knobs };
    if (edit) session.setField(edit);
    return session.update();
  };
  // Warm every code path (the JIT) before anything is timed.
  for (let i = 0; i < 3; i++) for (const c of CHANGES) apply(c);
  return CHANGES.map((c) => {
    const { change } = c;
    const times: number[] = [];
    const cpu: number[] = [];
    let changedLayers = 0;
    for (let i = 0; i < reps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = apply(c);
      times.push(performance.now() - t0);
      const dc = process.cpuUsage(c0);
      cpu.push((dc.user + dc.system) / 1000);
      if (r.broken || !r.diff) throw new Error(`bench-edit: ${change} broke: ${r.broken?.message}`);
      changedLayers = r.diff.changed.length;
    }
    return {
      change,
      medianMs: median(times),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      cpuMedianMs: median(cpu),
      changedLayers,
    };
  });
}

/** The text table. */
export function editTable(rows: EditBenchRow[]): string {
  const lines = ['What-if editor, one change on DenseNet-121 (update = graph + analysis + fields + diff):'];
  const w = Math.max(...rows.map((r) => r.change.length));
  for (const r of rows) {
    lines.push(
      `  ${r.change.padEnd(w)}  median ${r.medianMs.toFixed(2)} ms (${r.minMs.toFixed(2)}–${r.maxMs.toFixed(2)})  ` +
        `cpu ${r.cpuMedianMs.toFixed(2)} ms  ${r.changedLayers} layers changed`,
    );
  }
  const worst = Math.max(...rows.map((r) => r.medianMs));
  const worstCpu = Math.max(...rows.map((r) => r.cpuMedianMs));
  lines.push(
    `Target: ≤ ${EDIT_TARGET_MS} ms per update; worst median ${worst.toFixed(2)} ms wall ` +
      `(${(worst / EDIT_TARGET_MS).toFixed(2)}× the target), ${worstCpu.toFixed(2)} ms CPU ` +
      `(${(worstCpu / EDIT_TARGET_MS).toFixed(2)}×); load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`,
  );
  return lines.join('\n');
}

/** Run directly: `npx tsx scripts/bench-edit.ts`. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--reps');
  const rows = runEditBench({ reps: i >= 0 ? Number(args[i + 1]) : undefined });
  console.log(args.includes('--json') ? JSON.stringify(rows) : editTable(rows));
}
