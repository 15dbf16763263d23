import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import PredictionChart from '../../renderer/src/explorer/components/PredictionChart.vue';
import type { Prediction } from '../../common/engine-protocol';

const prediction: Prediction = {
  layerId: 'predictions',
  classes: 1000,
  softmaxApplied: true,
  // Deliberately out of order, and one more than the chart shows.
  top: [
    { index: 282, label: 'tiger cat', probability: 0.2031 },
    { index: 285, label: 'Egyptian cat', probability: 0.0512 },
    { index: 281, label: 'tabby', probability: 0.6424 },
    { index: 287, label: 'lynx', probability: 0.0049 },
    { index: 283, label: 'Persian cat', probability: 0.0101 },
    { index: 728, label: 'plastic bag', probability: 0.0011 },
  ],
};

const rowsOf = (w: ReturnType<typeof mount>) =>
  w.findAll('[data-testid="prediction-row"]').map((r) => ({
    label: r.find('.label').text(),
    percent: r.find('.percent').text(),
    width: (r.find('.fill').element as HTMLElement).style.width,
    meter: r.find('[role="meter"]').attributes('aria-valuenow'),
  }));

describe('PredictionChart', () => {
  it('shows the top 5 classes, highest first, with bars proportional to probability and one-decimal percentages', () => {
    const w = mount(PredictionChart, { props: { prediction } });
    expect(rowsOf(w)).toEqual([
      { label: 'tabby', percent: '64.2%', width: '64.24%', meter: '64.2' },
      { label: 'tiger cat', percent: '20.3%', width: '20.31%', meter: '20.3' },
      { label: 'Egyptian cat', percent: '5.1%', width: '5.12%', meter: '5.1' },
      { label: 'Persian cat', percent: '1.0%', width: '1.01%', meter: '1.0' },
      { label: 'lynx', percent: '0.5%', width: '0.49%', meter: '0.5' },
    ]);
    expect(w.find('[data-testid="prediction-row"]').attributes('data-index')).toBe('281');
  });

  it('is a labelled list of meters', () => {
    const w = mount(PredictionChart, { props: { prediction } });
    const list = w.find('ol[aria-label="Prediction"]');
    expect(list.exists()).toBe(true);
    expect(list.findAll('li')).toHaveLength(5);
    const meter = w.find('[role="meter"]');
    expect(meter.attributes('aria-label')).toBe('tabby');
    expect(meter.attributes('aria-valuetext')).toBe('64.2%');
    expect(meter.attributes('aria-valuemin')).toBe('0');
    expect(meter.attributes('aria-valuemax')).toBe('100');
  });

  it('says how many classes there are and whether a softmax was applied', () => {
    const w = mount(PredictionChart, { props: { prediction } });
    expect(w.find('[data-testid="prediction-classes"]').text()).toBe('1,000 classes');
    expect(w.find('[data-testid="prediction-softmax"]').text()).toBe('softmax applied to raw logits');
    expect(w.find('header').text()).toContain('predictions');

    const probs = mount(PredictionChart, { props: { prediction: { ...prediction, softmaxApplied: false } } });
    expect(probs.find('[data-testid="prediction-softmax"]').exists()).toBe(false);
    expect(probs.text()).not.toContain('softmax');
  });

  it('shows fewer rows when the model has fewer classes, and keeps junk probabilities inside the bar', () => {
    const w = mount(PredictionChart, {
      props: {
        prediction: {
          layerId: 'out',
          classes: 2,
          softmaxApplied: false,
          top: [
            { index: 1, label: 'class 1', probability: Number.NaN },
            { index: 0, label: 'class 0', probability: 1.2 },
          ],
        },
      },
    });
    expect(rowsOf(w).map((r) => [r.label, r.percent, r.width])).toEqual([
      ['class 0', '100.0%', '100%'],
      ['class 1', '0.0%', '0%'],
    ]);
    expect(w.find('[data-testid="prediction-classes"]').text()).toBe('2 classes');
  });

  it('has an empty state when there is no prediction', () => {
    const w = mount(PredictionChart, { props: { prediction: null } });
    const root = w.find('[data-testid="prediction"]');
    expect(root.attributes('data-empty')).toBe('true');
    expect(root.text()).toContain('No prediction');
    expect(w.findAll('[data-testid="prediction-row"]')).toHaveLength(0);
  });

  it('compact: no header or notes, the same 5 rows, the notes in the tooltip; nothing at all when empty', () => {
    const w = mount(PredictionChart, { props: { prediction, compact: true } });
    const root = w.find('[data-testid="prediction"]');
    expect(root.classes()).toContain('compact');
    expect(w.find('header').exists()).toBe(false);
    expect(w.find('[data-testid="prediction-classes"]').exists()).toBe(false);
    expect(rowsOf(w).map((r) => r.label)).toEqual(['tabby', 'tiger cat', 'Egyptian cat', 'Persian cat', 'lynx']);
    expect(root.attributes('title')).toBe('top 5 of 1,000 classes · softmax applied to raw logits');

    const empty = mount(PredictionChart, { props: { prediction: null, compact: true } });
    expect(empty.find('[data-testid="prediction"]').exists()).toBe(false);
  });

  it('updates when a new prediction arrives', async () => {
    const w = mount(PredictionChart, { props: { prediction: null } });
    await w.setProps({ prediction });
    expect(w.findAll('[data-testid="prediction-row"]')).toHaveLength(5);
    await w.setProps({ prediction: null });
    expect(w.findAll('[data-testid="prediction-row"]')).toHaveLength(0);
  });
});
