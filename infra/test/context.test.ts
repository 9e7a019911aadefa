import { RemovalPolicy } from 'aws-cdk-lib';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { propsFromContext } from '../lib/context';

const from = (values: Record<string, string>) => propsFromContext((key) => values[key]);

test('defaults: pictor names, data retained, IAM auth, the built-in spec', () => {
  const props = from({});
  assert.equal(props.namePrefix, 'pictor');
  assert.equal(props.removalPolicy, RemovalPolicy.RETAIN);
  assert.deepEqual(props.queryAuth, { kind: 'iam' });
  assert.equal(props.specFile, undefined);
  assert.deepEqual(props.corsOrigins, []);
});

test('every setting is read, and a bad removal policy is refused', () => {
  const spec = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-')), 'pictor.toml');
  fs.writeFileSync(spec, '[[variants]]\nname = "sm"\nwidth = 320\nformat = "webp"\n');
  const props = from({
    'pictor:prefix': 'media',
    'pictor:removalPolicy': 'destroy',
    'pictor:specFile': spec,
    'pictor:uploadPrefix': 'incoming/',
    'pictor:ingestMaxConcurrency': '8',
    'pictor:jwtIssuer': 'https://issuer.example',
    'pictor:jwtAudience': 'web,app',
    'pictor:cdnBaseUrl': 'https://cdn.example',
    'pictor:noncurrentVersionDays': '7',
    'pictor:corsOrigins': 'https://app.example,https://admin.example',
    'pictor:adminGroup': 'admins',
  });
  assert.equal(props.namePrefix, 'media');
  assert.equal(props.removalPolicy, RemovalPolicy.DESTROY);
  assert.equal(props.specFile, spec);
  assert.deepEqual(props.corsOrigins, ['https://app.example', 'https://admin.example']);
  assert.deepEqual(props.admins, { scope: undefined, group: 'admins' });
  assert.equal(props.uploadPrefix, 'incoming/');
  assert.equal(props.ingestMaxConcurrency, 8);
  assert.deepEqual(props.queryAuth, {
    kind: 'jwt',
    issuer: 'https://issuer.example',
    audience: ['web', 'app'],
  });
  assert.equal(props.cdnBaseUrl, 'https://cdn.example');
  assert.equal(props.noncurrentVersionDays, 7);
  assert.throws(() => from({ 'pictor:noncurrentVersionDays': '0' }), /whole number of days/);
  assert.throws(() => from({ 'pictor:removalPolicy': 'keep' }), /retain or destroy/);
  assert.throws(() => from({ 'pictor:ingestMaxConcurrency': 'lots' }), /whole number/);
  assert.throws(() => from({ 'pictor:ingestMaxConcurrency': '1' }), /2 to 1000/);
});

test('private renditions need the public key file and the secret', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-'));
  const key = path.join(dir, 'public.pem');
  fs.writeFileSync(key, '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n');
  const props = from({
    'pictor:privateRenditions': 'true',
    'pictor:cdnPublicKeyFile': key,
    'pictor:cdnPrivateKeySecret': 'pictor/cdn-key',
  });
  assert.equal(props.privateRenditions?.privateKeySecret, 'pictor/cdn-key');
  assert.match(props.privateRenditions!.publicKeyPem, /BEGIN PUBLIC KEY/);
  assert.equal(from({ 'pictor:privateRenditions': 'false' }).privateRenditions, undefined);
  assert.throws(() => from({ 'pictor:privateRenditions': 'true' }), /cdnPublicKeyFile/);
  assert.throws(() => from({ 'pictor:privateRenditions': 'yes' }), /true or false/);
  const notKey = path.join(dir, 'private.pem');
  fs.writeFileSync(notKey, '-----BEGIN PRIVATE KEY-----\n');
  assert.throws(
    () =>
      from({
        'pictor:privateRenditions': 'true',
        'pictor:cdnPublicKeyFile': notKey,
        'pictor:cdnPrivateKeySecret': 's',
      }),
    /not a public key/,
  );
});

test('the report goes to the recipients from the sender, and a sender is required', () => {
  const props = from({
    'pictor:reportSender': 'reports@example.com',
    'pictor:reportRecipients': 'ops@example.com, cto@example.com',
    'pictor:signInUrl': 'https://auth.example/login',
  });
  assert.deepEqual(props.reportMail, {
    sender: 'reports@example.com',
    recipients: ['ops@example.com', 'cto@example.com'],
  });
  assert.equal(props.signInUrl, 'https://auth.example/login');
  assert.equal(from({}).reportMail, undefined);
  assert.throws(() => from({ 'pictor:reportRecipients': 'ops@example.com' }), /reportSender/);
});
