import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { brandingOf } from './branding';
import {
  allowReportMail,
  deployPage,
  mailAddress,
  ReportMail,
  RenditionSigning,
  signingKeyGroup,
  siteBucket,
} from './delivery';
import { FunctionSize, PictorFunction } from './rust-function';
import { QueueTrigger } from './queue-trigger';
import { Storage } from './storage';
import {
  MANIFESTS_PREFIX,
  RECONCILE_LATEST,
  RENDITIONS_PREFIX,
  REPORTS_PREFIX,
} from './table-design';

/** How callers of the query API prove who they are. */
export type QueryAuth =
  | { readonly kind: 'iam' }
  | { readonly kind: 'jwt'; readonly issuer: string; readonly audience: readonly string[] };

export interface PictorStackProps extends StackProps {
  /** Prefix of function names (`<prefix>-ingest`, ...). */
  readonly namePrefix: string;
  /** Keys under it are uploads (default `uploads/`). */
  readonly uploadPrefix?: string;
  /**
   * The rendition spec file (absolute path); it and the logos it names are shipped in each
   * function's bundle. The built-in spec when absent.
   */
  readonly specFile?: string;
  /** Web origins allowed to upload to the bucket and call the API from a browser. */
  readonly corsOrigins?: readonly string[];
  /** What in a JWT makes its bearer an admin (sees every creator's assets). */
  readonly admins?: { readonly scope?: string; readonly group?: string };
  /** Buckets, table and logs: kept by default when the stack is deleted. */
  readonly removalPolicy?: RemovalPolicy;
  readonly sizes?: Partial<Record<FunctionName, FunctionSize>>;
  /** Most ingest invocations the upload queue may drive at once. */
  readonly ingestMaxConcurrency?: number;
  readonly queryAuth?: QueryAuth;
  /** Requests per second (steady) and burst for the query API. */
  readonly queryThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Requests per second and burst for `PUT /assets/{id}/focus`, which decodes an original
   * in the query function: within the API's, so a creator changing focal points in a loop
   * leaves the other routes their share (default 2 and 5).
   */
  readonly focusThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Most query functions at once (reserved concurrency, default 20): the API can never take
   * the account's concurrency that the ingest function needs.
   */
  readonly queryMaxConcurrency?: number;
  /** Serve rendition URLs from this base instead of presigning them. */
  readonly cdnBaseUrl?: string;
  /**
   * Private renditions: the CDN serves them only at URLs signed with this key pair, which the
   * API signs for each caller. Needs the stack's own CDN (no `cdnBaseUrl`).
   */
  readonly privateRenditions?: RenditionSigning;
  /** Mail the nightly report through SES, from a verified identity. */
  readonly reportMail?: ReportMail;
  /** Where the page sends a creator to sign in (a hosted sign-in that redirects back with a token). */
  readonly signInUrl?: string;
  /**
   * Days a replaced or deleted original stays recoverable as a noncurrent version before
   * S3 expires it (default 30).
   */
  readonly noncurrentVersionDays?: number;
  readonly logRetention?: logs.RetentionDays;
}

export type FunctionName =
  | 'ingest'
  | 'cleanup'
  | 'query'
  | 'reprocess'
  | 'report'
  | 'reconcile'
  | 'purge';

export const DEFAULT_SIZES: Record<FunctionName, FunctionSize> = {
  // 1769 MB is one whole vCPU: the pipeline is CPU-bound.
  ingest: { memoryMb: 1769, timeoutSeconds: 120 },
  // Runs the ingest handler: a removal that makes an older version current again (or a
  // restore) is ingested like an upload.
  cleanup: { memoryMb: 1769, timeoutSeconds: 120 },
  // PUT /assets/{id}/focus decodes the original and cuts the cover renditions again in the
  // query function: room for a 12 MP decode, and within the HTTP API's 30-second limit.
  query: { memoryMb: 1024, timeoutSeconds: 29 },
  reprocess: { memoryMb: 1769, timeoutSeconds: 300 },
  report: { memoryMb: 1024, timeoutSeconds: 900 },
  // Lists the uploads, the table and the renditions, and ingests what it finds missing.
  reconcile: { memoryMb: 1769, timeoutSeconds: 900 },
  // Reads a batch's records and sends CloudFront one invalidation: no image work.
  purge: { memoryMb: 256, timeoutSeconds: 30 },
};

/**
 * Threads that encode one image's renditions: Lambda gives one vCPU per 1769 MB (up to 6), and
 * the functions handle one image at a time.
 */
export function encodeThreads(memoryMb: number): number {
  return Math.min(6, Math.max(1, Math.round(memoryMb / 1769)));
}

/** Deliveries of one message before it goes to a dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;

export class PictorStack extends Stack {
  readonly storage: Storage;
  /** Every function; `purge` only with the stack's own CDN. */
  readonly functions: Record<Exclude<FunctionName, 'purge'>, PictorFunction> & {
    readonly purge?: PictorFunction;
  };
  readonly ingestTrigger: QueueTrigger;
  readonly cleanupTrigger: QueueTrigger;
  /** AssetDeleted events to the purge function, with the stack's own CDN. */
  readonly purgeTrigger?: QueueTrigger;
  readonly api: apigwv2.HttpApi;
  readonly batchOperationsRole: iam.Role;
  readonly eventBus: events.EventBus;
  /**
   * Renditions and the creators' page to browsers; `undefined` when `cdnBaseUrl` names a CDN of
   * the deployment's own.
   */
  readonly cdn?: cloudfront.Distribution;
  /** The bucket the page is served from, with the CDN. */
  readonly site?: s3.Bucket;

  constructor(scope: Construct, id: string, props: PictorStackProps) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const uploadPrefix = withSlash(props.uploadPrefix ?? 'uploads/');
    const sizes = { ...DEFAULT_SIZES, ...props.sizes };
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    const storage = new Storage(this, 'Storage', {
      removalPolicy,
      abortMultipartAfterDays: 7,
      noncurrentVersionDays: props.noncurrentVersionDays ?? 30,
    });
    this.storage = storage;
    const { uploads, output, table } = storage;

    // The spec travels as a file with its logos; the TOML-text variable stays empty.
    const branding = props.specFile ? brandingOf(props.specFile) : undefined;
    const spec = { PICTOR_SPEC: '', PICTOR_SPEC_FILE: branding?.specPath ?? '' };
    const make = (
      name: FunctionName,
      environment: Record<string, string>,
      reservedConcurrency?: number,
    ) =>
      new PictorFunction(this, capitalise(name), {
        reservedConcurrency,
        binaryName: `pictor-${name}`,
        functionName: `${props.namePrefix}-${name}`,
        crateDir: name,
        size: sizes[name],
        environment,
        logRetention,
        removalPolicy,
        shippedFiles: 'PICTOR_SPEC_FILE' in environment ? branding?.files : undefined,
        // The functions that run the pipeline carry the encoders their spec asks for.
        cargoFeatures: 'PICTOR_SPEC_FILE' in environment ? branding?.cargoFeatures : undefined,
      });
    // Apps subscribe to AssetReady, AssetFailed and AssetDeleted here instead of polling.
    this.eventBus = new events.EventBus(this, 'AssetEvents', {
      eventBusName: `${props.namePrefix}-assets`,
      description: 'Pictor asset events: AssetReady, AssetFailed, AssetDeleted',
    });
    const eventBus = { PICTOR_EVENT_BUS: this.eventBus.eventBusName };
    const shared = {
      PICTOR_OUTPUT_BUCKET: output.bucketName,
      PICTOR_TABLE: table.tableName,
    };
    // Rendition URLs are stable CDN URLs by default: browsers and the CDN cache them for a
    // year, as their content-addressed keys allow.
    if (props.privateRenditions && props.cdnBaseUrl) {
      throw new Error('private renditions are signed for the CDN this stack makes: drop cdnBaseUrl');
    }
    if (props.reportMail) {
      mailAddress(props.reportMail.sender);
      props.reportMail.recipients.forEach(mailAddress);
    }
    const signing = props.privateRenditions
      ? signingKeyGroup(this, props.privateRenditions)
      : undefined;
    if (!props.cdnBaseUrl) {
      this.site = siteBucket(this, storage.accessLogs);
      this.cdn = this.renditionsCdn(this.site, signing?.keyGroup);
    }
    // Deleted means gone from the CDN too: tombstones list what it must drop (the functions
    // that write them), the purge function and the reconcile pass have it dropped.
    const cdnDistribution = { PICTOR_CDN_DISTRIBUTION_ID: this.cdn?.distributionId ?? '' };
    // Creations and removals both converge the asset to the key's current state; the two
    // functions run the same handler on their own queues.
    const converging = (name: 'ingest' | 'cleanup') =>
      make(name, {
        ...shared,
        PICTOR_UPLOAD_PREFIX: uploadPrefix,
        ...spec,
        ...eventBus,
        PICTOR_ENCODE_THREADS: String(encodeThreads(sizes[name].memoryMb)),
        PICTOR_MAX_RECEIVES: String(MAX_RECEIVE_COUNT),
        ...cdnDistribution,
      });
    const ingest = converging('ingest');
    const cleanup = converging('cleanup');
    const cdnBaseUrl = props.cdnBaseUrl ?? `https://${this.cdn!.distributionDomainName}`;
    const query = make('query', {
      ...shared,
      PICTOR_CDN_BASE_URL: cdnBaseUrl,
      // Signed URLs for private renditions: the key's ID in the key group, and the secret.
      PICTOR_CDN_KEY_PAIR_ID: signing?.publicKey.publicKeyId ?? '',
      PICTOR_CDN_PRIVATE_KEY_SECRET: signing?.secret.secretArn ?? '',
      // A signed URL stays the same for an hour (and up to two), so browsers keep caching it.
      PICTOR_URL_EXPIRY_SECONDS: signing ? '3600' : '300',
      // POST /uploads forms for the uploads bucket, with each preset's folder and size limit.
      PICTOR_UPLOADS_BUCKET: uploads.bucketName,
      PICTOR_UPLOAD_PREFIX: uploadPrefix,
      ...spec,
      PICTOR_ADMIN_SCOPE: props.admins?.scope ?? '',
      PICTOR_ADMIN_GROUP: props.admins?.group ?? '',
      // A focal point set through the API re-cuts the asset here and announces the change.
      ...eventBus,
    }, props.queryMaxConcurrency ?? 20);

    this.ingestTrigger = new QueueTrigger(this, 'IngestQueue', {
      fn: ingest.fn,
      functionTimeoutSeconds: sizes.ingest.timeoutSeconds,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      maxConcurrency: props.ingestMaxConcurrency ?? 50,
      batchSize: 5,
    });
    this.cleanupTrigger = new QueueTrigger(this, 'CleanupQueue', {
      fn: cleanup.fn,
      functionTimeoutSeconds: sizes.cleanup.timeoutSeconds,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      maxConcurrency: 10,
      batchSize: 10,
    });
    const reprocess = make('reprocess', {
      ...shared,
      PICTOR_UPLOAD_PREFIX: uploadPrefix,
      ...spec,
      ...eventBus,
      PICTOR_ENCODE_THREADS: String(encodeThreads(sizes.reprocess.memoryMb)),
      PICTOR_INGEST_QUEUE_URL: this.ingestTrigger.queue.queueUrl,
    });
    const report = make('report', {
      ...shared,
      PICTOR_REPORTS_PREFIX: REPORTS_PREFIX,
      PICTOR_COST_MEMORY_MB: String(sizes.ingest.memoryMb),
      PICTOR_COST_ARCH: 'arm64',
      PICTOR_REPORT_SENDER: props.reportMail?.sender ?? '',
      PICTOR_REPORT_RECIPIENTS: (props.reportMail?.recipients ?? []).join(','),
      // The mail links to the report in the S3 console.
      PICTOR_REPORT_LINK_BASE: '',
    });
    const reconcile = make('reconcile', {
      ...shared,
      PICTOR_UPLOADS_BUCKET: uploads.bucketName,
      PICTOR_UPLOAD_PREFIX: uploadPrefix,
      ...spec,
      ...eventBus,
      PICTOR_ENCODE_THREADS: String(encodeThreads(sizes.reconcile.memoryMb)),
      PICTOR_GRACE_MINUTES: '60',
      ...cdnDistribution,
      // Repairs a pass has no time for go to the ingest queue, at the ingest function's scale.
      PICTOR_INGEST_QUEUE_URL: this.ingestTrigger.queue.queueUrl,
    });
    const purge = this.cdn
      ? make('purge', { PICTOR_TABLE: table.tableName, ...cdnDistribution })
      : undefined;
    this.functions = { ingest, cleanup, query, reprocess, report, reconcile, purge };
    if (purge && this.cdn) {
      this.purgeTrigger = this.cdnPurge(purge, this.cdn, sizes.purge.timeoutSeconds);
    }

    uploads.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new s3n.SqsDestination(this.ingestTrigger.queue),
      { prefix: uploadPrefix },
    );
    uploads.addEventNotification(
      s3.EventType.OBJECT_REMOVED,
      new s3n.SqsDestination(this.cleanupTrigger.queue),
      { prefix: uploadPrefix },
    );

    this.grantLeastPrivilege(uploadPrefix);
    this.appEvents([ingest, cleanup, reprocess, reconcile, query], logRetention, removalPolicy);
    this.api = this.queryApi(query, props, logRetention, removalPolicy);
    // The page on the CDN calls the API and posts upload forms from the CDN's origin.
    const pageOrigin = this.cdn ? [`https://${this.cdn.distributionDomainName}`] : [];
    this.browserAccess([...(props.corsOrigins ?? []), ...pageOrigin]);
    if (this.site && this.cdn) {
      deployPage(this, this.site, this.cdn, {
        apiUrl: this.api.apiEndpoint,
        ...(props.signInUrl ? { signInUrl: props.signInUrl } : {}),
      });
    }
    signing?.secret.grantRead(query.fn);
    if (props.reportMail) {
      allowReportMail(report.fn, props.reportMail);
    }
    this.batchOperationsRole = this.batchRole(reprocess);
    const reportFailures = this.nightlyReport(report);
    const reconcileFailures = this.scheduledReconcile(reconcile);
    this.dashboard([
      this.ingestTrigger.deadLetters,
      this.cleanupTrigger.deadLetters,
      ...(this.purgeTrigger ? [this.purgeTrigger.deadLetters] : []),
      reportFailures,
      reconcileFailures,
    ]);

    new CfnOutput(this, 'UploadsBucket', { value: uploads.bucketName });
    new CfnOutput(this, 'OutputBucket', { value: output.bucketName });
    new CfnOutput(this, 'AssetTable', { value: table.tableName });
    new CfnOutput(this, 'QueryApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'AssetEventBus', { value: this.eventBus.eventBusName });
    new CfnOutput(this, 'ReprocessFunctionArn', { value: reprocess.fn.functionArn });
    new CfnOutput(this, 'BatchOperationsRoleArn', { value: this.batchOperationsRole.roleArn });
  }

  /** Each function gets the actions it uses on the resources it touches, and nothing else. */
  private grantLeastPrivilege(uploadPrefix: string): void {
    const { uploads, output, table } = this.storage;
    const { ingest, cleanup, query, reprocess, report, reconcile } = this.functions;
    const indexes = `${table.tableArn}/index/*`;
    const allow = (fn: PictorFunction, actions: string[], resources: string[]) =>
      fn.fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    const originals = uploads.arnForObjects(`${uploadPrefix}*`);
    const renditionObjects = output.arnForObjects(`${RENDITIONS_PREFIX}*`);

    // Both look at the key's current state: without s3:ListBucket, S3 answers a HEAD of a
    // missing key with 403 instead of 404, and a deleted upload would look access-denied.
    for (const fn of [ingest, cleanup]) {
      allow(fn, ['s3:GetObject'], [originals]);
      allow(fn, ['s3:ListBucket'], [uploads.bucketArn]);
      allow(fn, ['s3:PutObject', 's3:DeleteObject'], [renditionObjects]);
      allow(fn, ['dynamodb:GetItem', 'dynamodb:PutItem'], [table.tableArn]);
    }

    // Presigned URLs and upload forms carry the signer's rights: reading renditions, and
    // writing (a form) or deleting (DELETE /assets/{id}) originals under the upload prefix.
    // PUT /assets/{id}/focus reads the original, replaces the cover renditions and writes
    // the record (conditionally, as every writer does).
    allow(query, ['s3:GetObject'], [renditionObjects, originals]);
    allow(query, ['s3:PutObject', 's3:DeleteObject'], [originals, renditionObjects]);
    allow(query, ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'], [
      table.tableArn,
      indexes,
    ]);

    allow(reprocess, ['s3:GetObject'], [originals]);
    allow(reprocess, ['s3:ListBucket'], [uploads.bucketArn]);
    allow(reprocess, ['s3:PutObject', 's3:DeleteObject'], [renditionObjects]);
    allow(reprocess, ['s3:PutObject'], [output.arnForObjects(`${MANIFESTS_PREFIX}*`)]);
    allow(reprocess, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], [
      table.tableArn,
      indexes,
    ]);
    allow(reprocess, ['sqs:SendMessage'], [this.ingestTrigger.queue.queueArn]);

    allow(report, ['dynamodb:Query'], [table.tableArn, indexes]);
    allow(report, ['s3:PutObject'], [output.arnForObjects(`${REPORTS_PREFIX}*`)]);
    allow(report, ['s3:GetObject'], [output.arnForObjects(RECONCILE_LATEST)]);

    // Lists all three places state lives, and repairs through the ingest use case.
    allow(reconcile, ['s3:GetObject'], [originals]);
    allow(reconcile, ['s3:ListBucket'], [uploads.bucketArn, output.bucketArn]);
    allow(reconcile, ['s3:PutObject', 's3:DeleteObject'], [renditionObjects]);
    allow(reconcile, ['s3:PutObject'], [output.arnForObjects(`${REPORTS_PREFIX}reconcile/*`)]);
    allow(reconcile, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], [
      table.tableArn,
      indexes,
    ]);
    allow(reconcile, ['sqs:SendMessage'], [this.ingestTrigger.queue.queueArn]);
  }

  /**
   * AssetDeleted events from the bus to the purge function, ten at a time: one CloudFront
   * invalidation per batch. The purge function and the reconcile pass (which purges what is
   * still owed) may invalidate in this distribution and nowhere else.
   */
  private cdnPurge(
    purge: PictorFunction,
    cdn: cloudfront.Distribution,
    timeoutSeconds: number,
  ): QueueTrigger {
    const trigger = new QueueTrigger(this, 'PurgeQueue', {
      fn: purge.fn,
      functionTimeoutSeconds: timeoutSeconds,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      // CloudFront takes a few invalidations at a time; two batches in flight stay well within.
      maxConcurrency: 2,
      batchSize: 10,
    });
    new events.Rule(this, 'AssetDeletedToPurge', {
      description: 'Pictor: deleted renditions are invalidated in the CDN',
      eventBus: this.eventBus,
      eventPattern: { source: ['pictor'], detailType: ['AssetDeleted'] },
      targets: [new targets.SqsQueue(trigger.queue)],
    });
    const { table } = this.storage;
    const invalidate = new iam.PolicyStatement({
      actions: ['cloudfront:CreateInvalidation'],
      resources: [
        Stack.of(this).formatArn({
          service: 'cloudfront',
          region: '',
          resource: 'distribution',
          resourceName: cdn.distributionId,
        }),
      ],
    });
    purge.fn.addToRolePolicy(invalidate);
    purge.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: [table.tableArn],
      }),
    );
    this.functions.reconcile.fn.addToRolePolicy(invalidate);
    return trigger;
  }

  private queryApi(
    query: PictorFunction,
    props: PictorStackProps,
    logRetention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
  ): apigwv2.HttpApi {
    const auth = props.queryAuth ?? { kind: 'iam' };
    const authorizer =
      auth.kind === 'iam'
        ? new HttpIamAuthorizer()
        : new HttpJwtAuthorizer('Jwt', auth.issuer, { jwtAudience: [...auth.audience] });
    const api = new apigwv2.HttpApi(this, 'QueryApi', {
      description: 'Pictor asset API',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'QueryApiAccessLogs', {
      retention: logRetention,
      removalPolicy,
    });
    const throttle = props.queryThrottle ?? { rateLimit: 50, burstLimit: 100 };
    const focus = props.focusThrottle ?? { rateLimit: 2, burstLimit: 5 };
    const stage = new apigwv2.HttpStage(this, 'QueryApiStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    (stage.node.defaultChild as apigwv2.CfnStage).routeSettings = {
      'PUT /assets/{id}/focus': {
        ThrottlingRateLimit: focus.rateLimit,
        ThrottlingBurstLimit: focus.burstLimit,
      },
    };
    const integration = new HttpLambdaIntegration('Query', query.fn);
    const { GET, POST, PUT, DELETE } = apigwv2.HttpMethod;
    const routes: [string, apigwv2.HttpMethod[]][] = [
      ['/assets', [GET]],
      ['/assets/{id}', [GET, DELETE]],
      ['/assets/{id}/srcset', [GET]],
      ['/assets/{id}/focus', [PUT]],
      ['/uploads', [POST]],
    ];
    for (const [path, methods] of routes) {
      api.addRoutes({ path, methods, integration, authorizer });
    }
    return api;
  }

  /**
   * Every function that writes records publishes its events to the bus (and nowhere else); an
   * example rule keeps every AssetFailed in a log group, where an app's own rules sit beside it.
   */
  private appEvents(
    writers: PictorFunction[],
    logRetention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
  ): void {
    for (const fn of writers) {
      this.eventBus.grantPutEventsTo(fn.fn);
    }
    const failures = new logs.LogGroup(this, 'AssetFailedEvents', {
      retention: logRetention,
      removalPolicy,
    });
    new events.Rule(this, 'AssetFailedToLogs', {
      description: 'Pictor example: keep every AssetFailed event in a log group',
      eventBus: this.eventBus,
      eventPattern: { source: ['pictor'], detailType: ['AssetFailed'] },
      targets: [new targets.CloudWatchLogGroup(failures)],
    });
  }

  /**
   * CloudFront in front of the output bucket, reading it through Origin Access Control, and
   * allowed only `renditions/*`: reports and manifests in the same bucket are a 403 through
   * it. The cache policy takes the renditions' own `Cache-Control` (a year, immutable).
   */
  private renditionsCdn(site: s3.Bucket, keyGroup?: cloudfront.IKeyGroup): cloudfront.Distribution {
    const { output } = this.storage;
    const oac = new cloudfront.S3OriginAccessControl(this, 'RenditionsOac', {
      description: 'Pictor: CloudFront reads renditions and the page',
    });
    const distribution = new cloudfront.Distribution(this, 'RenditionsCdn', {
      comment: 'Pictor renditions and page',
      // The page: CDK's helper grants CloudFront the site bucket, which holds nothing else.
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(site, { originAccessControl: oac }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      defaultRootObject: 'index.html',
      additionalBehaviors: {
        // The output bucket's default origin, with the access control set below: CDK's own
        // OAC helper would grant the whole bucket, reports and manifests included.
        [`${RENDITIONS_PREFIX}*`]: {
          origin: origins.S3BucketOrigin.withBucketDefaults(output),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED_FOR_UNCOMPRESSED_OBJECTS,
          compress: false,
          trustedKeyGroups: keyGroup ? [keyGroup] : undefined,
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });
    const cfn = distribution.node.defaultChild as cloudfront.CfnDistribution;
    cfn.addPropertyOverride(
      'DistributionConfig.Origins.1.OriginAccessControlId',
      oac.originAccessControlId,
    );
    output.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudFrontReadsRenditionsOnly',
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [output.arnForObjects(`${RENDITIONS_PREFIX}*`)],
        conditions: {
          StringEquals: {
            'AWS:SourceArn': this.formatArn({
              service: 'cloudfront',
              region: '',
              resource: 'distribution',
              resourceName: distribution.distributionId,
            }),
          },
        },
      }),
    );
    new CfnOutput(this, 'RenditionsCdnDomain', { value: distribution.distributionDomainName });
    return distribution;
  }

  /** Browsers of the configured origins may post upload forms and call the API. */
  private browserAccess(origins: readonly string[]): void {
    if (origins.length === 0) {
      return;
    }
    this.storage.uploads.addCorsRule({
      allowedOrigins: [...origins],
      allowedMethods: [s3.HttpMethods.POST],
      allowedHeaders: ['*'],
      maxAge: 3000,
    });
    const cfn = this.api.node.defaultChild as apigwv2.CfnApi;
    cfn.corsConfiguration = {
      allowOrigins: [...origins],
      allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
      allowHeaders: ['authorization', 'content-type'],
      maxAge: 3000,
    };
  }

  /** The role S3 Batch Operations assumes to run a reprocess job from a plan's manifest. */
  private batchRole(reprocess: PictorFunction): iam.Role {
    const { output } = this.storage;
    const role = new iam.Role(this, 'BatchOperationsRole', {
      assumedBy: new iam.ServicePrincipal('batchoperations.s3.amazonaws.com'),
      description: 'S3 Batch Operations: invoke the reprocess function on a manifest',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [reprocess.fn.functionArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [output.arnForObjects(`${MANIFESTS_PREFIX}*`)],
      }),
    );
    // Completion reports, when a job asks for them, go next to the manifests.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [output.arnForObjects(`${MANIFESTS_PREFIX}reports/*`)],
      }),
    );
    return role;
  }

  /** Runs the report at 00:05 UTC; failed runs are retried, then kept in a queue. */
  private nightlyReport(report: PictorFunction): sqs.Queue {
    const failures = new sqs.Queue(this, 'ReportFailures', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    new events.Rule(this, 'NightlyReport', {
      description: 'Pictor: report on the previous UTC day',
      schedule: events.Schedule.cron({ minute: '5', hour: '0' }),
      targets: [
        new targets.LambdaFunction(report.fn, { retryAttempts: 2, deadLetterQueue: failures }),
      ],
    });
    return failures;
  }

  /**
   * Runs a reconcile pass daily at 23:30 UTC, before the nightly report reads its counts;
   * failed runs are retried, then kept in a queue. An alarm fires when a pass finds drift.
   */
  private scheduledReconcile(reconcile: PictorFunction): sqs.Queue {
    const failures = new sqs.Queue(this, 'ReconcileFailures', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    new events.Rule(this, 'DailyReconcile', {
      description: 'Pictor: hold the records and renditions to the uploads bucket',
      schedule: events.Schedule.cron({ minute: '30', hour: '23' }),
      targets: [
        new targets.LambdaFunction(reconcile.fn, { retryAttempts: 2, deadLetterQueue: failures }),
      ],
    });
    new cloudwatch.Alarm(this, 'ReconcileFoundDrift', {
      alarmDescription:
        'the reconcile pass found records or renditions out of step with the uploads bucket ' +
        '(lost notifications, failed deletes); it repaired them, but the cause needs a look',
      metric: pictorMetric('reconcile', 'Drift', Duration.hours(6), 'Maximum'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, 'ReconcileRepairFailed', {
      alarmDescription: 'the reconcile pass could not repair some drift; the next pass retries',
      metric: pictorMetric('reconcile', 'RepairFailed', Duration.hours(6), 'Maximum'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return failures;
  }

  private dashboard(deadLetterQueues: sqs.Queue[]): void {
    const fns = Object.entries(this.functions).filter(
      (entry): entry is [string, PictorFunction] => entry[1] !== undefined,
    );
    const graph = (title: string, metric: (f: PictorFunction) => cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({
        title,
        width: 12,
        left: fns.map(([name, f]) => withLabel(metric(f), name)),
      });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${this.stackName}-pipeline`,
    });
    dashboard.addWidgets(
      graph('Invocations', (f) => f.fn.metricInvocations()),
      graph('Errors', (f) => f.fn.metricErrors()),
    );
    dashboard.addWidgets(
      graph('Duration p99', (f) => f.fn.metricDuration({ statistic: 'p99' })),
      graph('Throttles', (f) => f.fn.metricThrottles()),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queues',
        width: 12,
        left: deadLetterQueues.map((q) => q.metricApproximateNumberOfMessagesVisible()),
      }),
      new cloudwatch.GraphWidget({
        title: 'Processed and failed uploads',
        width: 12,
        left: ['Processed', 'Failed', 'GaveUp', 'Unchanged', 'Deleted'].map((name) =>
          pictorMetric('ingest', name, Duration.minutes(5), 'Sum'),
        ),
        right: ['Deleted', 'Processed', 'Failed'].map((name) =>
          pictorMetric('cleanup', name, Duration.minutes(5), 'Sum').with({
            label: `cleanup ${name}`,
          }),
        ),
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Reconcile: drift found and repaired',
        width: 24,
        left: ['Unrecorded', 'Outdated', 'Gone', 'Broken', 'Orphans', 'Unannounced', 'Repaired', 'RepairFailed'].map(
          (name) => pictorMetric('reconcile', name, Duration.hours(6), 'Maximum'),
        ),
      }),
    );
    new cloudwatch.Alarm(this, 'ReportFailed', {
      alarmDescription: 'the nightly report failed after its retries',
      metric: deadLetterQueues[deadLetterQueues.length - 1].metricApproximateNumberOfMessagesVisible(),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

/**
 * A metric the functions publish (`shared/aws/src/metrics.rs`, whose catalogue the contract
 * test holds every dashboard and alarm metric to), by its `Function` roll-up dimension.
 */
function pictorMetric(
  fn: string,
  name: string,
  period: Duration,
  statistic: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'Pictor',
    metricName: name,
    dimensionsMap: { Function: fn },
    statistic,
    period,
    label: name,
  });
}

function withSlash(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

function capitalise(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function withLabel(metric: cloudwatch.IMetric, label: string): cloudwatch.IMetric {
  return metric instanceof cloudwatch.Metric ? metric.with({ label }) : metric;
}
