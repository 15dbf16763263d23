/** Class names next to a model: Teachable Machine's labels.txt ("0 cat"), classes.txt, metadata.json labels. */
import { describe, expect, it } from 'vitest';
import { findLabels, parseLabelLines } from '../../renderer/src/formats/labels';

const file = (path: string, text: string) => ({ path, bytes: new TextEncoder().encode(text) });

describe('findLabels', () => {
  it("reads Teachable Machine's numbered labels.txt, dropping the indices", () => {
    expect(findLabels([file('keras_model.h5', ''), file('labels.txt', '0 Class 1\r\n1 Class 2\n2 no mask\n')])).toEqual(
      ['Class 1', 'Class 2', 'no mask'],
    );
  });

  it('keeps lines whole when they are not numbered in order, and reads classes.txt', () => {
    expect(parseLabelLines('cat\ndog\n\n')).toEqual(['cat', 'dog']);
    expect(parseLabelLines('3 little pigs\n7 dwarfs\n')).toEqual(['3 little pigs', '7 dwarfs']);
    expect(findLabels([file('m/classes.txt', '\uFEFFairplane\nautomobile\n')])).toEqual(['airplane', 'automobile']);
  });

  it('prefers metadata.json labels; none when nothing names classes', () => {
    const meta = file('metadata.json', JSON.stringify({ tmVersion: '2.4.5', labels: ['rock', 'paper'] }));
    expect(findLabels([meta, file('labels.txt', '0 a\n1 b\n')])).toEqual(['rock', 'paper']);
    expect(findLabels([file('metadata.json', '{"keras_version": "3.6.0"}')])).toBeUndefined();
    expect(findLabels([file('metadata.json', 'not json'), file('labels.txt', '\n\n')])).toBeUndefined();
    expect(findLabels([file('model.json', '{}')])).toBeUndefined();
  });
});
