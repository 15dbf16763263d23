/**
 * ChannelHealthBar as a user sees it: three bars (dead, zeros, saturated) whose lengths are the shares, and the
 * numbers in the tooltip and the accessible name.
 */
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import ChannelHealthBar from '../../renderer/src/explorer/components/ChannelHealthBar.vue';

describe('ChannelHealthBar', () => {
  it('shows dead / sparse / saturated shares as bar widths with the counts in the tooltip', () => {
    // 12 of 96 dead = 12.5 %, 63.2 % zeros, 3 of 96 at 6 = 3.125 %.
    const health = {
      channels: 96,
      dead: 12,
      deadShare: 12 / 96,
      sparsity: 0.632,
      saturated: 3,
      saturatedShare: 3 / 96,
      clip: 6,
    };
    const w = mount(ChannelHealthBar, { props: { health } });
    const bar = w.find('[data-testid="health-bar"]');
    const text = '12 of 96 channels dead (13%) · 63% zeros · 3 saturated at 6 (3.1%)';
    expect(bar.attributes('title')).toBe(text);
    expect(bar.attributes('aria-label')).toBe(text);
    expect(bar.attributes('role')).toBe('img');
    const width = (k: string) => (w.find(`[data-testid="health-${k}"]`).element as HTMLElement).style.width;
    expect([width('dead'), width('sparse'), width('saturated')]).toEqual(['12.50%', '63.20%', '3.13%']);
  });

  it('a layer without a clip value does not mention saturation; unknown sparsity is said so', () => {
    const w = mount(ChannelHealthBar, {
      props: {
        health: { channels: 10, dead: 0, deadShare: 0, sparsity: null, saturated: 0, saturatedShare: 0, clip: null },
      },
    });
    expect(w.find('[data-testid="health-bar"]').attributes('title')).toBe(
      '0 of 10 channels dead (0%) · sparsity unknown',
    );
    expect((w.find('[data-testid="health-sparse"]').element as HTMLElement).style.width).toBe('0.00%');
  });
});
