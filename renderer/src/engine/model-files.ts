/**
 * A tfjs model (model.json + weight shards) as the ModelArtifacts tfjs loads from. The model.json itself is
 * read and checked by the app's one reader, common/model-json.ts (re-exported here for the engine).
 */
import type { io } from '@tensorflow/tfjs';
import { checkShards, type ModelJsonInfo } from '../../../common/model-json';

export * from '../../../common/model-json';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks each group's shards against the manifest (present, total byte length) and builds the
 * ModelArtifacts tfjs loads from. `shards` maps resolved paths to bytes.
 */
export function buildArtifacts(
  info: ModelJsonInfo,
  shards: Map<string, ArrayBuffer>,
  jsonName: string,
): io.ModelArtifacts {
  checkShards(info, new Map([...shards].map(([p, b]) => [p, b.byteLength])), jsonName);
  const parts: Uint8Array[] = [];
  info.resolvedPaths.forEach((paths) => {
    for (const p of paths) parts.push(new Uint8Array(shards.get(p)!));
  });
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    weightData.set(p, o);
    o += p.byteLength;
  }
  const j = info.json;
  return {
    modelTopology: j.modelTopology as io.ModelArtifacts['modelTopology'],
    format: typeof j.format === 'string' ? j.format : undefined,
    generatedBy: typeof j.generatedBy === 'string' ? j.generatedBy : undefined,
    convertedBy: typeof j.convertedBy === 'string' ? j.convertedBy : undefined,
    weightSpecs: info.groups.flatMap((g) => g.weights) as io.WeightsManifestEntry[],
    weightData: weightData.buffer,
    signature: isObj(j.signature) ? j.signature : undefined,
    userDefinedMetadata: isObj(j.userDefinedMetadata)
      ? (j.userDefinedMetadata as io.ModelArtifacts['userDefinedMetadata'])
      : undefined,
    modelInitializer: isObj(j.modelInitializer) ? j.modelInitializer : undefined,
    trainingConfig: undefined,
  };
}
