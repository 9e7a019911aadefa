import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nagFindings, synth } from './helpers';

test('the AwsSolutions pack passes, every exception acknowledged with a reason', () => {
  const { stack } = synth();
  assert.deepEqual(nagFindings(stack), []);
});
