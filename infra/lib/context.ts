import { RemovalPolicy } from 'aws-cdk-lib';
import * as fs from 'fs';
import * as path from 'path';
import { RenditionSigning } from './delivery';
import { PictorStackProps, QueryAuth } from './pictor-stack';

/**
 * Stack props from CDK context (`cdk.json` or `-c key=value`):
 * - `pictor:prefix`: function name prefix (default `pictor`)
 * - `pictor:removalPolicy`: `retain` (default) or `destroy`, for buckets, table and logs
 * - `pictor:specFile`: a rendition spec (TOML), relative to `infra/`; it and the logos it
 *   names (in its folder) are shipped with the functions
 * - `pictor:corsOrigins` (comma-separated): web origins allowed to upload and call the API
 * - `pictor:adminScope`, `pictor:adminGroup`: what in a JWT gives access to every creator's assets
 * - `pictor:uploadPrefix`: default `uploads/`
 * - `pictor:ingestMaxConcurrency`: default 50
 * - `pictor:jwtIssuer` and `pictor:jwtAudience` (comma-separated): JWT instead of IAM auth
 * - `pictor:cdnBaseUrl`: rendition URLs from a CDN of your own instead of the stack's
 * - `pictor:privateRenditions` (`true`): the CDN serves renditions only at signed URLs, with
 *   `pictor:cdnPublicKeyFile` (PEM, relative to `infra/`) in its key group and the private key
 *   in the Secrets Manager secret `pictor:cdnPrivateKeySecret` (name or ARN)
 * - `pictor:reportSender` (a verified SES identity) and `pictor:reportRecipients`
 *   (comma-separated): the nightly report by mail
 * - `pictor:signInUrl`: where the page sends creators to sign in
 * - `pictor:noncurrentVersionDays`: days deleted or replaced originals stay recoverable
 *   (default 30)
 */
export function propsFromContext(get: (key: string) => unknown): PictorStackProps {
  const text = (key: string): string | undefined => {
    const value = get(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const removal = text('pictor:removalPolicy') ?? 'retain';
  if (removal !== 'retain' && removal !== 'destroy') {
    throw new Error(`pictor:removalPolicy must be retain or destroy, not ${removal}`);
  }
  const specFile = text('pictor:specFile');
  const issuer = text('pictor:jwtIssuer');
  const queryAuth: QueryAuth = issuer
    ? {
        kind: 'jwt',
        issuer,
        audience: (text('pictor:jwtAudience') ?? '').split(',').filter((a) => a !== ''),
      }
    : { kind: 'iam' };
  const concurrency = text('pictor:ingestMaxConcurrency');
  // SQS event sources accept a maximum concurrency of 2 to 1000.
  if (concurrency !== undefined && !/^\d+$/.test(concurrency)) {
    throw new Error(`pictor:ingestMaxConcurrency must be a whole number, not ${concurrency}`);
  }
  if (concurrency !== undefined && (Number(concurrency) < 2 || Number(concurrency) > 1000)) {
    throw new Error(`pictor:ingestMaxConcurrency must be from 2 to 1000, not ${concurrency}`);
  }
  const keepDays = text('pictor:noncurrentVersionDays');
  if (keepDays !== undefined && !/^[1-9]\d*$/.test(keepDays)) {
    throw new Error(`pictor:noncurrentVersionDays must be a whole number of days, not ${keepDays}`);
  }
  const privateRenditions = privateRenditionsFrom(text);
  const recipients = (text('pictor:reportRecipients') ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
  const sender = text('pictor:reportSender');
  if (recipients.length > 0 && !sender) {
    throw new Error('pictor:reportRecipients needs pictor:reportSender, a verified SES identity');
  }
  return {
    privateRenditions,
    reportMail: recipients.length > 0 && sender ? { sender, recipients } : undefined,
    signInUrl: text('pictor:signInUrl'),
    namePrefix: text('pictor:prefix') ?? 'pictor',
    removalPolicy: removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    specFile: specFile ? path.resolve(__dirname, '..', specFile) : undefined,
    corsOrigins: (text('pictor:corsOrigins') ?? '').split(',').filter((o) => o !== ''),
    admins: { scope: text('pictor:adminScope'), group: text('pictor:adminGroup') },
    uploadPrefix: text('pictor:uploadPrefix'),
    ingestMaxConcurrency: concurrency === undefined ? undefined : Number(concurrency),
    queryAuth,
    cdnBaseUrl: text('pictor:cdnBaseUrl'),
    noncurrentVersionDays: keepDays === undefined ? undefined : Number(keepDays),
  };
}

/** `pictor:privateRenditions` and the key it needs: both settings, or a clear refusal. */
function privateRenditionsFrom(text: (key: string) => string | undefined): RenditionSigning | undefined {
  const on = text('pictor:privateRenditions');
  if (on === undefined || on === 'false') {
    return undefined;
  }
  if (on !== 'true') {
    throw new Error(`pictor:privateRenditions must be true or false, not ${on}`);
  }
  const keyFile = text('pictor:cdnPublicKeyFile');
  const secret = text('pictor:cdnPrivateKeySecret');
  if (!keyFile || !secret) {
    throw new Error(
      'pictor:privateRenditions needs pictor:cdnPublicKeyFile (the public key, PEM) and ' +
        'pictor:cdnPrivateKeySecret (the secret holding the private key)',
    );
  }
  const file = path.resolve(__dirname, '..', keyFile);
  const pem = fs.readFileSync(file, 'utf8');
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new Error(`${file} is not a public key in PEM (openssl rsa -pubout)`);
  }
  return { publicKeyPem: pem, privateKeySecret: secret };
}
