import { RemovalPolicy } from 'aws-cdk-lib';
import * as path from 'path';
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
 * - `pictor:cdnBaseUrl`: rendition URLs from a CDN instead of presigned
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
  return {
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
