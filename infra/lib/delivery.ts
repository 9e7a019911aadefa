// What reaches people: the creators' page beside the renditions on the CDN, the key group of
// private renditions, and the permission to mail the nightly report.
import { Arn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import * as path from 'path';
import { WORKSPACE } from './rust-function';

/** The page's files (`web/`): the same ones `pictor serve` serves at `/`. */
export const PAGE_DIR = path.join(WORKSPACE, 'web');
/** What in `web/` is not the page. */
const NOT_THE_PAGE = ['node_modules', 'node_modules/**', 'test', 'test/**', 'package.json', 'package-lock.json'];

/** Private renditions: the public key CloudFront checks, and where the private key is kept. */
export interface RenditionSigning {
  /** The public key, PEM (`openssl rsa -pubout`): RSA 2048. */
  readonly publicKeyPem: string;
  /** Name or ARN of the Secrets Manager secret whose text is the private key's PEM. */
  readonly privateKeySecret: string;
}

/** The nightly report by mail. */
export interface ReportMail {
  /** A verified SES identity: the address itself, or its domain. `Name <addr>` is fine. */
  readonly sender: string;
  readonly recipients: readonly string[];
}

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** `reports@example.com` from `Pictor <reports@example.com>` or the address alone. */
export function mailAddress(text: string): string {
  const address = (/<([^>]+)>/.exec(text)?.[1] ?? text).trim();
  if (!ADDRESS.test(address)) {
    throw new Error(`${JSON.stringify(text)} is not a mail address`);
  }
  return address;
}

/** The key group the renditions behaviour trusts. */
export function signingKeyGroup(scope: Construct, signing: RenditionSigning) {
  const publicKey = new cloudfront.PublicKey(scope, 'RenditionsSigningKey', {
    encodedKey: signing.publicKeyPem.trim(),
    comment: 'Pictor: signs rendition URLs (the private key is in Secrets Manager)',
  });
  const keyGroup = new cloudfront.KeyGroup(scope, 'RenditionsKeyGroup', {
    items: [publicKey],
    comment: 'Pictor: private renditions',
  });
  const secret = signing.privateKeySecret.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'RenditionsPrivateKey', signing.privateKeySecret)
    : secretsmanager.Secret.fromSecretNameV2(scope, 'RenditionsPrivateKey', signing.privateKeySecret);
  return { publicKey, keyGroup, secret };
}

/** The bucket the page is served from: private, read by CloudFront only. */
export function siteBucket(scope: Construct, accessLogs: s3.IBucket): s3.Bucket {
  return new s3.Bucket(scope, 'Site', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'site/',
    // Only the page's files, remade by every deploy.
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/**
 * Copies the page and its `config.json` (the API's address, and where to sign in) to the site
 * bucket, and clears the CDN's copies of them.
 */
export function deployPage(
  scope: Construct,
  site: s3.IBucket,
  distribution: cloudfront.IDistribution,
  config: { apiUrl: string; signInUrl?: string },
): s3deploy.BucketDeployment {
  return new s3deploy.BucketDeployment(scope, 'Page', {
    sources: [
      s3deploy.Source.asset(PAGE_DIR, { exclude: NOT_THE_PAGE }),
      s3deploy.Source.jsonData('config.json', config),
    ],
    destinationBucket: site,
    distribution,
    distributionPaths: ['/*'],
    prune: true,
    retainOnDelete: false,
    memoryLimit: 256,
  });
}

/**
 * Lets `role` send mail from `sender` only: through the SES identity of that address or of
 * its domain, whichever the account verified.
 */
export function allowReportMail(role: iam.IGrantable & Construct, mail: ReportMail): void {
  const address = mailAddress(mail.sender);
  const domain = address.split('@')[1];
  const stack = Stack.of(role);
  const identity = (name: string) =>
    Arn.format({ service: 'ses', resource: 'identity', resourceName: name }, stack);
  role.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'MailTheReportFromItsIdentity',
      actions: ['ses:SendEmail', 'ses:SendRawEmail'],
      resources: [identity(address), identity(domain)],
      conditions: { StringEquals: { 'ses:FromAddress': address } },
    }),
  );
}
