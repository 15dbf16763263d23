/**
 * Linked cameras across panes whose scenes differ in size: a follower copies the leader's orbit direction,
 * and its zoom and pan as proportions of its own viewing distance, around its own target. Copying positions
 * verbatim would not do: VGG-16's wall of blocks is several times wider than MobileNetV2's.
 */
import type { Pose, V3 } from '../scene/camera';

const sub = (a: readonly number[], b: readonly number[]): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const add = (a: readonly number[], b: readonly number[]): V3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const scale = (a: readonly number[], s: number): V3 => [a[0] * s, a[1] * s, a[2] * s];
const length = (a: readonly number[]): number => Math.hypot(a[0], a[1], a[2]);

/**
 * The follower's new pose after the leader moved from `leaderBefore` to `leaderAfter`:
 * - direction: the leader's new direction from target to camera;
 * - distance: the follower's distance times the leader's zoom factor (|after| / |before|);
 * - target: moved by the leader's pan, scaled by the ratio of the two viewing distances.
 * Degenerate poses (camera on its target) leave the follower where it is.
 */
export function followPose(leaderBefore: Pose, leaderAfter: Pose, follower: Pose): Pose {
  const before = sub(leaderBefore.position, leaderBefore.target);
  const after = sub(leaderAfter.position, leaderAfter.target);
  const own = sub(follower.position, follower.target);
  const lb = length(before);
  const la = length(after);
  const lo = length(own);
  if (!(lb > 0) || !(la > 0) || !(lo > 0)) return { position: [...follower.position], target: [...follower.target] };
  const ratio = lo / lb;
  const target = add(follower.target, scale(sub(leaderAfter.target, leaderBefore.target), ratio));
  const position = add(target, scale(after, (lo * (la / lb)) / la));
  return { position, target };
}

/** True when two poses differ by more than `eps` in any coordinate (a camera still settling). */
export function posesDiffer(a: Pose, b: Pose, eps = 1e-6): boolean {
  for (let i = 0; i < 3; i++) {
    if (Math.abs(a.position[i] - b.position[i]) > eps || Math.abs(a.target[i] - b.target[i]) > eps) return true;
  }
  return false;
}
