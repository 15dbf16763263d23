import { describe, expect, it } from 'vitest';
import { followPose, posesDiffer } from '../../renderer/src/explorer/compare/camera-link';
import type { Pose } from '../../renderer/src/explorer/scene/camera';

const pose = (position: [number, number, number], target: [number, number, number]): Pose => ({ position, target });
const offset = (p: Pose) => p.position.map((v, i) => v - p.target[i]);
const len = (v: number[]) => Math.hypot(...v);

describe('linked cameras', () => {
  const leader0 = pose([0, 0, 100], [0, 0, 0]);
  const follower = pose([50, 10, 20], [50, 10, -20]); // 40 units away, looking down −z

  it('copies an orbit: same direction, the follower keeps its own distance and target', () => {
    const leader1 = pose([100 * Math.sin(0.5), 0, 100 * Math.cos(0.5)], [0, 0, 0]);
    const f = followPose(leader0, leader1, follower);
    expect(f.target).toEqual(follower.target);
    expect(len(offset(f))).toBeCloseTo(40, 9);
    const dir = offset(f).map((v) => v / 40);
    expect(dir[0]).toBeCloseTo(Math.sin(0.5), 9);
    expect(dir[2]).toBeCloseTo(Math.cos(0.5), 9);
  });

  it('copies a zoom as a factor of the distance', () => {
    const f = followPose(leader0, pose([0, 0, 50], [0, 0, 0]), follower);
    expect(len(offset(f))).toBeCloseTo(20, 9);
  });

  it('copies a pan in proportion to the viewing distances', () => {
    // The leader pans 10 units at distance 100; the follower, at 40, pans 4.
    const f = followPose(leader0, pose([10, 0, 100], [10, 0, 0]), follower);
    expect(f.target[0]).toBeCloseTo(54, 9);
    expect(f.position[0]).toBeCloseTo(54, 9);
    expect(f.position[2]).toBeCloseTo(20, 9);
  });

  it('leaves the follower alone for a degenerate pose, and detects settling', () => {
    const f = followPose(pose([1, 1, 1], [1, 1, 1]), leader0, follower);
    expect(f).toEqual(follower);
    expect(posesDiffer(leader0, pose([0, 0, 100], [0, 0, 0]))).toBe(false);
    expect(posesDiffer(leader0, pose([0, 0, 100.01], [0, 0, 0]))).toBe(true);
  });
});
