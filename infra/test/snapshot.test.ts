// One snapshot of the whole template, so any change to what is deployed shows up in review.
// Asset hashes (they change with every build of the Rust code) are scrubbed. After an intended
// change: `UPDATE_SNAPSHOT=1 npm test`, then review the diff.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { synth } from './helpers';

const SNAPSHOT = path.join(__dirname, 'snapshots', 'pictor-stack.json');

function scrubbed(value: unknown): unknown {
  const text = JSON.stringify(value, null, 2)
    .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '<asset-hash>$1')
    .replace(/"Version": "[0-9.]+"/g, '"Version": "<cdk>"');
  return JSON.parse(text);
}

test('the template matches the reviewed snapshot', () => {
  const template = scrubbed(synth().template.toJSON());
  if (process.env.UPDATE_SNAPSHOT === '1') {
    fs.mkdirSync(path.dirname(SNAPSHOT), { recursive: true });
    fs.writeFileSync(SNAPSHOT, `${JSON.stringify(template, null, 2)}\n`);
  }
  const expected = JSON.parse(fs.readFileSync(SNAPSHOT, 'utf8'));
  assert.deepEqual(template, expected);
});
