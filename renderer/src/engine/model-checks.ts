/**
 * The project's own checks on a model before tfjs builds anything (issue "an engine that cannot be frozen"):
 * topology (cycles, dangling inputs) and arithmetic (absurd sizes, MAC counts past 2^53) through the analysis,
 * weight shapes against each layer, a graph model's node graph; and the wording that names the model's folder.
 */
import { AnalysisError, analyzeGraph } from '../analysis/analyze';
import type { ModelAnalysis } from '../../../common/analysis-types';
import type { OpenedModel } from '../formats';
import { InputError } from '../../../common/image-header';

const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Runs a model-file check; its messages ("model.json: …") are prefixed with the model's folder, so the user knows which model is wrong. */
export function inFolder<T>(folder: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw inFolderError(folder, e);
  }
}

/**
 * The error a model-file check threw, its message prefixed with the model's folder (unless it already names it).
 * `singleFile`: the "folder" is the file itself (a dropped .h5 / .onnx), so a message starting with it is kept.
 */
export function inFolderError(folder: string, e: unknown, singleFile = false): unknown {
  if (e instanceof AnalysisError) e = new InputError(e.message, e.file);
  if (
    e instanceof InputError &&
    folder &&
    !e.message.startsWith(`${folder}/`) &&
    !(singleFile && e.message.startsWith(folder))
  ) {
    return new InputError(`${folder}/${e.message}`, e.file);
  }
  return e;
}

/** The largest activation tensor (values) and MAC count a model may have before it is refused as absurd. */
export const MAX_LAYER_VALUES = 2 ** 28;

/**
 * The project's own topology and arithmetic checks on an opened model, before tfjs builds anything: cycles,
 * dangling inputs, empty or absurd sizes, MAC counts past 2^53 (where they stop being exact). Also puts the
 * nodes in topological order for the runner.
 */
export function checkedAnalysis(opened: OpenedModel, input: [number, number]): ModelAnalysis {
  const file = opened.mainFile;
  let analysis: ModelAnalysis;
  try {
    analysis = analyzeGraph(opened.graph, { input });
  } catch (e) {
    const msg = errorMessage(e);
    throw new InputError(msg.startsWith(file) ? msg : `${file}: ${msg}`, file);
  }
  for (const l of analysis.layers) {
    const n = l.outputShape.reduce((a, b) => a * b, 1);
    if (n > MAX_LAYER_VALUES) {
      throw new InputError(
        `${file}: layer "${l.name}" would output ${l.outputShape.join('×')} values (${n.toExponential(2)}), more than any view can hold`,
        file,
      );
    }
  }
  if (!Number.isSafeInteger(analysis.totals.macs)) {
    throw new InputError(`${file}: the model's multiply-adds exceed 2^53 — the sizes in the file are absurd`, file);
  }
  checkWeightShapes(opened, analysis);
  // The analysis walked the graph in topological order: the runner takes the nodes in that order.
  const order = new Map(analysis.layers.map((l, i) => [l.id, i]));
  opened.graph.nodes.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  return analysis;
}

/** The async twin of `inFolder`. */
export async function inFolderAsync<T>(folder: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    throw inFolderError(folder, e, true);
  }
}

/** The model.json of a tfjs graph model among the files, if there is one (those keep tfjs-converter's executor). */
export function findGraphModelJson(byPath: Map<string, ArrayBuffer>): string | null {
  const jsons = [...byPath.keys()]
    .filter((p) => p.toLowerCase().endsWith('.json'))
    .sort((a, b) => a.split('/').length - b.split('/').length);
  for (const p of jsons) {
    const bytes = byPath.get(p)!;
    if (bytes.byteLength > 256 << 20) continue;
    const head = new TextDecoder().decode(new Uint8Array(bytes, 0, Math.min(bytes.byteLength, 4096)));
    if (!/"modelTopology"|"format"\s*:\s*"graph-model"/.test(head) && !p.endsWith('model.json')) continue;
    try {
      const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      const topo = json.modelTopology as Record<string, unknown> | undefined;
      if (json.format === 'graph-model' || (topo && Array.isArray(topo.node))) return p;
    } catch {
      // Not JSON: the registry's message will say what it is.
    }
  }
  return null;
}

/**
 * A graph model's nodes must form a DAG (TF1 while-loops aside: a NextIteration edge closes a loop by design)
 * whose inputs all exist: tfjs-converter loops or grows without bound on anything else.
 */
export function checkGraphTopology(json: Record<string, unknown>, file: string): void {
  const topo = json.modelTopology as { node?: { name?: unknown; op?: unknown; input?: unknown }[] } | undefined;
  const nodes = Array.isArray(topo?.node) ? topo.node : [];
  const byName = new Map<string, string[]>();
  const ops = new Map<string, string>();
  for (const n of nodes) {
    if (typeof n?.name !== 'string') throw new InputError(`${file}: a graph node has no name`, file);
    if (byName.has(n.name)) throw new InputError(`${file}: two graph nodes are named "${n.name}"`, file);
    const inputs = Array.isArray(n.input) ? n.input.filter((i): i is string => typeof i === 'string') : [];
    byName.set(
      n.name,
      inputs.filter((i) => !i.startsWith('^')).map((i) => i.replace(/:\d+$/, '')),
    );
    ops.set(n.name, String(n.op ?? ''));
  }
  // Functions (the library) can be referenced by name; only check node-to-node edges.
  const state = new Map<string, 1 | 2>();
  for (const start of byName.keys()) {
    if (state.has(start)) continue;
    const stack: [string, number][] = [[start, 0]];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const ins = ops.get(top[0]) === 'Merge' ? [] : (byName.get(top[0]) ?? []);
      if (top[1] < ins.length) {
        const next = ins[top[1]++];
        if (!byName.has(next)) {
          throw new InputError(
            `${file}: graph node "${top[0]}" reads "${next}", which is not a node of the graph`,
            file,
          );
        }
        const st = state.get(next);
        if (st === 1) throw new InputError(`${file}: graph node "${next}" feeds itself (a cycle in the graph)`, file);
        if (st !== 2) {
          state.set(next, 1);
          stack.push([next, 0]);
        }
      } else {
        state.set(top[0], 2);
        stack.pop();
      }
    }
  }
}

/**
 * Each weighted layer's tensors must have exactly the shapes its config and its input need (the same count in
 * another layout — a transposed kernel — would run and give nonsense). Throws naming the file, weight and layer.
 */
export function checkWeightShapes(
  opened: Pick<OpenedModel, 'mainFile' | 'graph' | 'weights'>,
  analysis: ModelAnalysis,
): void {
  const file = opened.mainFile;
  const shapeOf = new Map(analysis.layers.map((l) => [l.id, l.outputShape]));
  const fmtS = (s: number[]) => `[${s.join(', ')}]`;
  for (const node of opened.graph.nodes) {
    const cin = shapeOf.get(node.inputs[0] ?? '')?.at(-1);
    if (cin === undefined) continue;
    let want: number[][] | null = null;
    switch (node.op) {
      case 'conv':
        want = [[...node.kernel, cin / (node.groups ?? 1), node.filters]];
        if (node.useBias) want.push([node.filters]);
        break;
      case 'depthwise':
        want = [[...node.kernel, cin, node.depthMultiplier]];
        if (node.useBias) want.push([cin * node.depthMultiplier]);
        break;
      case 'separable':
        want = [
          [...node.kernel, cin, node.depthMultiplier],
          [1, 1, cin * node.depthMultiplier, node.filters],
        ];
        if (node.useBias) want.push([node.filters]);
        break;
      case 'convtranspose':
        want = [[...node.kernel, node.filters, cin]];
        if (node.useBias) want.push([node.filters]);
        break;
      case 'dense':
        want = [[cin, node.units]];
        if (node.useBias) want.push([node.units]);
        break;
      case 'bn':
        want = Array.from({ length: (node.scale ? 1 : 0) + (node.center ? 1 : 0) + 2 }, () => [cin]);
        break;
    }
    if (!want) continue;
    const have = opened.weights.get(node.name) ?? [];
    if (have.length !== want.length) {
      throw new InputError(
        `${file}: layer '${node.name}' needs ${want.length} weight tensors (${want.map(fmtS).join(', ')}), the file has ${have.length}`,
        file,
      );
    }
    have.forEach((t, i) => {
      if (t.shape.join(',') !== want![i].join(',')) {
        throw new InputError(
          `${file}: weight '${t.name}' has shape ${fmtS(t.shape)} in the file, but layer '${node.name}' needs ${fmtS(want![i])}`,
          file,
        );
      }
    });
  }
}
