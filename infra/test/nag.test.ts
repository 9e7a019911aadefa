import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nagFindings, synth } from './helpers';

test('the AwsSolutions pack passes, every exception acknowledged with a reason', () => {
  const { stack } = synth();
  assert.deepEqual(nagFindings(stack), []);
});

test('private renditions and the report mail add nothing cdk-nag objects to', () => {
  const { stack } = synth({
    privateRenditions: {
      publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n',
      privateKeySecret: 'pictor/cdn-key',
    },
    reportMail: { sender: 'reports@example.com', recipients: ['ops@example.com'] },
  });
  assert.deepEqual(nagFindings(stack), []);
});
