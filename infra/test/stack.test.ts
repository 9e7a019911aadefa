import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shortVisibilityQueues } from '../lib/checks';
import { MAX_RECEIVE_COUNT } from '../lib/pictor-stack';
import { INDEXES } from '../lib/table-design';
import { resources, synth } from './helpers';

const { stack, template } = synth();

describe('buckets', () => {
  test('uploads: versioned, private, encrypted, TLS only, multipart uploads aborted', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
          Match.objectLike({
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            ExpiredObjectDeleteMarker: true,
          }),
        ]),
      },
    });
  });

  test('noncurrent versions expire after the configured days', () => {
    const { template: kept } = synth({ noncurrentVersionDays: 90 });
    kept.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } }),
        ]),
      },
    });
  });

  test('every bucket blocks public access and refuses plain HTTP', () => {
    const buckets = resources(template, 'AWS::S3::Bucket');
    assert.equal(Object.keys(buckets).length, 4, 'uploads, renditions, access logs, the page');
    for (const [id, bucket] of Object.entries(buckets)) {
      const block = bucket.Properties.PublicAccessBlockConfiguration;
      assert.deepEqual(
        [block.BlockPublicAcls, block.BlockPublicPolicy, block.IgnorePublicAcls, block.RestrictPublicBuckets],
        [true, true, true, true],
        id,
      );
      // The page's files are remade by every deploy; everything else is kept.
      assert.equal(bucket.DeletionPolicy, id.startsWith('Site') ? 'Delete' : 'Retain', id);
    }
    const policies = Object.values(resources(template, 'AWS::S3::BucketPolicy'));
    assert.equal(policies.length, 4);
    for (const policy of policies) {
      const statements = policy.Properties.PolicyDocument.Statement;
      assert.ok(
        statements.some(
          (s: any) =>
            s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        ),
      );
    }
  });

  test('uploads notify the ingest queue on creation and the cleanup queue on removal', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: Match.arrayWith([
          Match.objectLike({
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } },
          }),
          Match.objectLike({
            Events: ['s3:ObjectRemoved:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } },
          }),
        ]),
      },
    });
  });
});

test('the table: on demand, point-in-time recovery, the adapter\'s GSIs', () => {
  template.resourceCountIs('AWS::DynamoDB::Table', 1);
  template.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'Retain',
    Properties: {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: INDEXES.map(([IndexName, partition]) => ({
        IndexName,
        KeySchema: [
          { AttributeName: partition, KeyType: 'HASH' },
          { AttributeName: 'created_key', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    },
  });
});

describe('queues', () => {
  test('ingest: partial batch failures, a concurrency cap, a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 50 },
      FunctionName: { Ref: Match.stringLikeRegexp('^IngestFunction') },
    });
    // Ingest, cleanup, and the CDN purge.
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    // The functions know the redrive setting: the last delivery records a failure.
    for (const fn of ['Ingest', 'Cleanup']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `pictor-${fn.toLowerCase()}`,
        Environment: {
          Variables: Match.objectLike({ PICTOR_MAX_RECEIVES: String(MAX_RECEIVE_COUNT) }),
        },
      });
    }
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 720,
      RedrivePolicy: { maxReceiveCount: MAX_RECEIVE_COUNT, deadLetterTargetArn: Match.anyValue() },
      SqsManagedSseEnabled: true,
    });
  });

  test('every event source queue is visible for at least 6x the function timeout', () => {
    assert.deepEqual(shortVisibilityQueues(template), []);
  });

  test('the check catches a queue that is too short', () => {
    const short = synth({ sizes: { ingest: { memoryMb: 1769, timeoutSeconds: 100 } } }, (st) => {
      (st.ingestTrigger.queue.node.defaultChild as sqs.CfnQueue).visibilityTimeout = 120;
    });
    const problems = shortVisibilityQueues(short.template);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /visibility 120s < 6 x 100s/);
  });

  test('every dead-letter queue has a depth alarm', () => {
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
    const onQueues = alarms.filter(
      (a: any) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible',
    );
    assert.equal(onQueues.length, 4, 'ingest, cleanup, purge and report dead letters');
  });

  test('deletions reach the CDN: AssetDeleted events to the purge function, ten at a time', () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule')) as any[];
    const toPurge = rules.find(
      (r) => JSON.stringify(r.Properties.EventPattern?.['detail-type']) === '["AssetDeleted"]',
    );
    assert.ok(toPurge, 'a rule for AssetDeleted');
    assert.match(JSON.stringify(toPurge.Properties.Targets), /PurgeQueue/);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^PurgeFunction') },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // The functions that write tombstones know a CDN fronts the renditions.
    const [cdnId] = Object.keys(resources(template, 'AWS::CloudFront::Distribution'));
    for (const fn of ['ingest', 'cleanup', 'reconcile', 'purge']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `pictor-${fn}`,
        Environment: {
          Variables: Match.objectLike({ PICTOR_CDN_DISTRIBUTION_ID: { Ref: cdnId } }),
        },
      });
    }
  });

  test('without a CDN of its own the stack has no purge', () => {
    const own = synth({ cdnBaseUrl: 'https://cdn.example.com' });
    assert.equal(own.stack.functions.purge, undefined);
    own.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    own.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'pictor-ingest',
      Environment: { Variables: Match.objectLike({ PICTOR_CDN_DISTRIBUTION_ID: '' }) },
    });
  });
});

describe('functions', () => {
  const fns = () =>
    Object.entries(resources(template, 'AWS::Lambda::Function')).filter(([id]) =>
      /^(Ingest|Cleanup|Query|Reprocess|Report)Function/.test(id),
    );

  test('five Rust functions on arm64, provided.al2023, traced, JSON logs with retention', () => {
    assert.equal(fns().length, 5);
    for (const [id, fn] of fns()) {
      const p = fn.Properties;
      assert.deepEqual(p.Architectures, ['arm64'], id);
      assert.equal(p.Runtime, 'provided.al2023', id);
      assert.equal(p.Handler, 'bootstrap', id);
      assert.deepEqual(p.TracingConfig, { Mode: 'Active' }, id);
      assert.equal(p.LoggingConfig.LogFormat, 'JSON', id);
      assert.ok(p.LoggingConfig.LogGroup, id);
    }
    const groups = Object.values(resources(template, 'AWS::Logs::LogGroup'));
    assert.ok(groups.length >= 6);
    for (const g of groups) assert.equal(g.Properties.RetentionInDays, 30);
  });

  test('names carry the prefix', () => {
    const names = fns().map(([, fn]) => fn.Properties.FunctionName).sort();
    assert.deepEqual(names, ['cleanup', 'ingest', 'query', 'report', 'reprocess'].map((n) => `pictor-${n}`));
    const other = synth({ namePrefix: 'media' });
    other.template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'media-ingest' });
  });

  test('memory and timeout come from props', () => {
    const sized = synth({ sizes: { ingest: { memoryMb: 3008, timeoutSeconds: 60 } } });
    sized.template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 3008,
      Timeout: 60,
      Environment: { Variables: Match.objectLike({ PICTOR_SPEC: '', PICTOR_ENCODE_THREADS: '2' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'pictor-ingest',
      Environment: { Variables: Match.objectLike({ PICTOR_ENCODE_THREADS: '1' }) },
    });
    sized.template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 360 });
  });

  test('errors, throttles and duration are alarmed for every function', () => {
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
    for (const metric of ['Errors', 'Throttles', 'Duration']) {
      assert.equal(alarms.filter((a: any) => a.Properties.MetricName === metric).length, 7, metric);
    }
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('least privilege', () => {
  const policyOf = (prefix: string) => {
    const [, policy] = Object.entries(resources(template, 'AWS::IAM::Policy')).find(([id]) =>
      id.startsWith(`${prefix}FunctionServiceRoleDefaultPolicy`),
    )!;
    return policy.Properties.PolicyDocument.Statement.flatMap((s: any) =>
      [s.Action].flat(),
    ) as string[];
  };
  const tracing = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
  const sqsConsume = [
    'sqs:ReceiveMessage',
    'sqs:ChangeMessageVisibility',
    'sqs:GetQueueUrl',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
  ];

  // HEAD of a missing key answers 404 only with s3:ListBucket (403 without).
  const converging = ['s3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:DeleteObject', 'dynamodb:GetItem', 'dynamodb:PutItem'];

  test('each function has only the actions it uses', () => {
    const expected: Record<string, string[]> = {
      Ingest: [...tracing, ...sqsConsume, ...converging, 'events:PutEvents'],
      Cleanup: [...tracing, ...sqsConsume, ...converging, 'events:PutEvents'],
      Query: [...tracing, 's3:GetObject', 's3:PutObject', 's3:DeleteObject', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'events:PutEvents'],
      Reprocess: [...tracing, 's3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:DeleteObject', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'sqs:SendMessage', 'events:PutEvents'],
      Report: [...tracing, 'dynamodb:Query', 's3:PutObject', 's3:GetObject'],
      Reconcile: [...tracing, ...converging, 's3:PutObject', 'dynamodb:Query', 'events:PutEvents', 'cloudfront:CreateInvalidation', 'sqs:SendMessage'],
      Purge: [...tracing, ...sqsConsume, 'dynamodb:GetItem', 'dynamodb:PutItem', 'cloudfront:CreateInvalidation'],
    };
    for (const [fn, actions] of Object.entries(expected)) {
      assert.deepEqual(new Set(policyOf(fn)), new Set(actions), fn);
    }
  });

  test('invalidations are allowed in the own distribution of the stack only', () => {
    const statements = Object.entries(resources(template, 'AWS::IAM::Policy'))
      .filter(([id]) => /^(Purge|Reconcile)Function/.test(id))
      .flatMap(([, p]: [string, any]) => p.Properties.PolicyDocument.Statement);
    const [cdnId] = Object.keys(resources(template, 'AWS::CloudFront::Distribution'));
    const invalidations = statements.filter((s: any) =>
      [s.Action].flat().includes('cloudfront:CreateInvalidation'),
    );
    assert.equal(invalidations.length, 2, 'the purge function and the reconcile pass');
    for (const s of invalidations) {
      const resource = JSON.stringify(s.Resource);
      assert.match(resource, /:distribution\//);
      assert.match(resource, new RegExp(`"Ref":"${cdnId}"`));
    }
  });

  test('no function may touch objects outside its prefixes', () => {
    const json = JSON.stringify(resources(template, 'AWS::IAM::Policy'));
    assert.doesNotMatch(json, /"s3:\*"|"dynamodb:\*"|"sqs:\*"|"events:\*"/);
  });

  test('events go to the asset bus only; uploads and deletions stay under the upload prefix', () => {
    const statements = Object.values(resources(template, 'AWS::IAM::Policy')).flatMap(
      (p: any) => p.Properties.PolicyDocument.Statement,
    );
    const [busId] = Object.keys(resources(template, 'AWS::Events::EventBus'));
    const puts = statements.filter((s: any) => [s.Action].flat().includes('events:PutEvents'));
    assert.equal(puts.length, 5);
    for (const s of puts) {
      assert.deepEqual(s.Resource, { 'Fn::GetAtt': [busId, 'Arn'] });
    }
    const [, query] = Object.entries(resources(template, 'AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('QueryFunctionServiceRoleDefaultPolicy'),
    )!;
    const writes = (query as any).Properties.PolicyDocument.Statement.find((s: any) =>
      [s.Action].flat().includes('s3:DeleteObject'),
    );
    assert.match(JSON.stringify(writes.Resource), /\/uploads\/\*"/);
  });
});

describe('query, reprocess and report', () => {
  test('an HTTP API with IAM auth on every route, throttled, with access logs', () => {
    const routes = Object.values(resources(template, 'AWS::ApiGatewayV2::Route'));
    assert.deepEqual(routes.map((r: any) => r.Properties.RouteKey).sort(), [
      'DELETE /assets/{id}',
      'GET /assets',
      'GET /assets/{id}',
      'GET /assets/{id}/srcset',
      'POST /uploads',
      'PUT /assets/{id}/focus',
    ]);
    for (const r of routes) assert.equal(r.Properties.AuthorizationType, 'AWS_IAM');
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  test('focal point changes cannot take the API or the account from ingest', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      RouteSettings: {
        'PUT /assets/{id}/focus': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'pictor-query',
      ReservedConcurrentExecutions: 20,
    });
  });

  test('the query function has room to re-cut crops within the API time limit', () => {
    const fns = Object.values(resources(template, 'AWS::Lambda::Function')) as any[];
    const query = fns.find((f) => f.Properties.Environment?.Variables?.PICTOR_ADMIN_GROUP !== undefined);
    assert.ok(query, 'the query function');
    assert.ok(query.Properties.MemorySize >= 1024, `${query.Properties.MemorySize} MB`);
    assert.ok(query.Properties.Timeout < 30, 'an HTTP API waits 30 s at most');
    assert.ok(query.Properties.Environment.Variables.PICTOR_EVENT_BUS, 'announces re-cut assets');
  });

  test('JWT authorization as a prop', () => {
    const jwt = synth({
      queryAuth: { kind: 'jwt', issuer: 'https://issuer.example', audience: ['pictor'] },
    });
    jwt.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://issuer.example', Audience: ['pictor'] },
    });
    for (const r of Object.values(resources(jwt.template, 'AWS::ApiGatewayV2::Route'))) {
      assert.equal((r as any).Properties.AuthorizationType, 'JWT');
    }
  });

  test('S3 Batch Operations can assume a role that only invokes reprocess', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({ Principal: { Service: 'batchoperations.s3.amazonaws.com' } }),
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReprocessFunction'), 'Arn'] },
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^BatchOperationsRole') }],
    });
  });

  test('the report runs nightly, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(5 0 * * ? *)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReportFunction'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2 },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
  });
});

test('data can be made disposable for a test account', () => {
  const disposable = synth({ removalPolicy: RemovalPolicy.DESTROY });
  disposable.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  assert.ok(stack.storage.table);
});

describe('creator platform', () => {
  test('an event bus with an example rule, and the bus named to every record writer', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'pictor-assets' });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: { source: ['pictor'], 'detail-type': ['AssetFailed'] },
      Targets: Match.arrayWith([Match.objectLike({ Arn: Match.anyValue() })]),
    });
    const fns = resources(template, 'AWS::Lambda::Function');
    for (const prefix of ['Ingest', 'Cleanup', 'Reprocess', 'Reconcile']) {
      const [, fn] = Object.entries(fns).find(([id]) => id.startsWith(`${prefix}Function`))!;
      assert.ok((fn as any).Properties.Environment.Variables.PICTOR_EVENT_BUS, prefix);
    }
  });

  test('browsers of the configured origins may post forms and call the API', () => {
    // Without a CDN of the stack's own (so no page) and no origins: no CORS at all.
    const { template: bare } = synth({ cdnBaseUrl: 'https://img.example' });
    const none = JSON.stringify(resources(bare, 'AWS::S3::Bucket'));
    assert.doesNotMatch(none, /CorsConfiguration/, 'no origins, no CORS');
    // The page on the CDN is always an origin; configured ones come first.
    const [distId] = Object.keys(resources(template, 'AWS::CloudFront::Distribution'));
    const page = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distId, 'DomainName'] }]] };
    const { template: withCors } = synth({ corsOrigins: ['https://app.example'] });
    withCors.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({ AllowedOrigins: ['https://app.example', page], AllowedMethods: ['POST'] }),
        ],
      },
    });
    withCors.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://app.example', page],
        AllowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
      }),
    });
  });

  test('the query function gets the uploads bucket, the spec and the admin settings', () => {
    const { template: t } = synth({ admins: { group: 'admins' } });
    const [, query] = Object.entries(resources(t, 'AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('QueryFunction'),
    )!;
    const vars = (query as any).Properties.Environment.Variables;
    assert.equal(vars.PICTOR_ADMIN_GROUP, 'admins');
    assert.ok(vars.PICTOR_UPLOADS_BUCKET);
    assert.equal(vars.PICTOR_UPLOAD_PREFIX, 'uploads/');
  });
});

describe('renditions CDN', () => {
  test('CloudFront reads the output bucket through OAC, and only renditions/*', () => {
    const [oacId] = Object.keys(resources(template, 'AWS::CloudFront::OriginAccessControl'));
    assert.ok(oacId);
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    const [, distribution] = Object.entries(resources(template, 'AWS::CloudFront::Distribution'))[0];
    const config = (distribution as any).Properties.DistributionConfig;
    const outputId = Object.keys(resources(template, 'AWS::S3::Bucket')).find((id) =>
      id.startsWith('StorageRenditions'),
    )!;
    const siteId = Object.keys(resources(template, 'AWS::S3::Bucket')).find((id) => id.startsWith('Site'))!;
    const originOf = (bucket: string) =>
      config.Origins.find((o: any) => JSON.stringify(o.DomainName).includes(bucket));
    // Both origins are read through the one OAC.
    for (const bucket of [outputId, siteId]) {
      assert.deepEqual(originOf(bucket).OriginAccessControlId, { 'Fn::GetAtt': [oacId, 'Id'] }, bucket);
    }
    const [renditions] = config.CacheBehaviors;
    assert.equal(renditions.PathPattern, 'renditions/*');
    assert.equal(renditions.TargetOriginId, originOf(outputId).Id);
    assert.equal(renditions.ViewerProtocolPolicy, 'redirect-to-https');
    assert.deepEqual(renditions.AllowedMethods, ['GET', 'HEAD']);
    // The managed CachingOptimizedForUncompressedObjects: it keeps the origin's Cache-Control.
    assert.equal(renditions.CachePolicyId, 'b2884449-e4de-46a7-ac36-70bc7f1ddd6d');
    assert.equal(renditions.TrustedKeyGroups, undefined, 'public unless private mode is on');
    // Everything else is the page, from its own bucket.
    assert.equal(config.DefaultCacheBehavior.TargetOriginId, originOf(siteId).Id);
    assert.equal(config.DefaultRootObject, 'index.html');

    // In the output bucket CloudFront may read renditions/* and nothing else (reports and
    // manifests are not reachable); its other grant is the page's own bucket.
    const policies = Object.values(resources(template, 'AWS::S3::BucketPolicy'));
    const grants = policies.flatMap((p: any) =>
      p.Properties.PolicyDocument.Statement.filter(
        (s: any) => s.Principal?.Service === 'cloudfront.amazonaws.com',
      ).map((s: any) => ({ bucket: p.Properties.Bucket.Ref, s })),
    );
    assert.deepEqual(grants.map((g: any) => g.bucket).sort(), [siteId, outputId].sort());
    const output = grants.find((g: any) => g.bucket === outputId)!.s;
    assert.equal(output.Action, 's3:GetObject');
    assert.match(JSON.stringify(output.Resource), /\/renditions\/\*"/);
    assert.ok(output.Condition.StringEquals['AWS:SourceArn']);
  });

  test('the API returns CDN URLs by default, or the given CDN', () => {
    const queryVars = (t: typeof template) => {
      const [, query] = Object.entries(resources(t, 'AWS::Lambda::Function')).find(([id]) =>
        id.startsWith('QueryFunction'),
      )!;
      return (query as any).Properties.Environment.Variables;
    };
    const [distId] = Object.keys(resources(template, 'AWS::CloudFront::Distribution'));
    assert.deepEqual(queryVars(template).PICTOR_CDN_BASE_URL, {
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distId, 'DomainName'] }]],
    });
    const own = synth({ cdnBaseUrl: 'https://img.example' });
    assert.equal(queryVars(own.template).PICTOR_CDN_BASE_URL, 'https://img.example');
    assert.equal(Object.keys(resources(own.template, 'AWS::CloudFront::Distribution')).length, 0);
  });
});

describe('private renditions', () => {
  const signing = {
    publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n',
    privateKeySecret: 'pictor/cdn-signing-key',
  };
  const { template: t } = synth({ privateRenditions: signing });

  test('the renditions behaviour trusts a key group of the given public key', () => {
    const [keyId] = Object.keys(resources(t, 'AWS::CloudFront::PublicKey'));
    t.hasResourceProperties('AWS::CloudFront::PublicKey', {
      PublicKeyConfig: Match.objectLike({ EncodedKey: signing.publicKeyPem.trim() }),
    });
    const [groupId] = Object.keys(resources(t, 'AWS::CloudFront::KeyGroup'));
    t.hasResourceProperties('AWS::CloudFront::KeyGroup', {
      KeyGroupConfig: Match.objectLike({ Items: [{ Ref: keyId }] }),
    });
    const [, distribution] = Object.entries(resources(t, 'AWS::CloudFront::Distribution'))[0];
    const config = (distribution as any).Properties.DistributionConfig;
    assert.deepEqual(config.CacheBehaviors[0].TrustedKeyGroups, [{ Ref: groupId }]);
    // The page itself stays public: it holds nothing private.
    assert.equal(config.DefaultCacheBehavior.TrustedKeyGroups, undefined);
  });

  test('the query function signs with the key pair and may read only that secret', () => {
    const [, query] = Object.entries(resources(t, 'AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('QueryFunction'),
    )!;
    const vars = (query as any).Properties.Environment.Variables;
    const [keyId] = Object.keys(resources(t, 'AWS::CloudFront::PublicKey'));
    assert.deepEqual(vars.PICTOR_CDN_KEY_PAIR_ID, { Ref: keyId });
    assert.match(JSON.stringify(vars.PICTOR_CDN_PRIVATE_KEY_SECRET), /secret:pictor\/cdn-signing-key/);
    assert.equal(vars.PICTOR_URL_EXPIRY_SECONDS, '3600');
    const statements = Object.values(resources(t, 'AWS::IAM::Policy')).flatMap(
      (p: any) => p.Properties.PolicyDocument.Statement,
    );
    const reads = statements.filter((s: any) =>
      [s.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    assert.equal(reads.length, 1);
    assert.match(JSON.stringify(reads[0].Resource), /secret:pictor\/cdn-signing-key-\?\?\?\?\?\?/);
  });

  test('is refused with a CDN of the deployment\'s own, which the stack cannot sign for', () => {
    assert.throws(() => synth({ privateRenditions: signing, cdnBaseUrl: 'https://img.example' }), /drop cdnBaseUrl/);
  });

  test('without it the query function gets empty signing settings', () => {
    const [, query] = Object.entries(resources(template, 'AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('QueryFunction'),
    )!;
    const vars = (query as any).Properties.Environment.Variables;
    assert.equal(vars.PICTOR_CDN_KEY_PAIR_ID, '');
    assert.equal(vars.PICTOR_CDN_PRIVATE_KEY_SECRET, '');
    assert.equal(Object.keys(resources(template, 'AWS::CloudFront::KeyGroup')).length, 0);
  });
});

describe('report mail', () => {
  const mail = { sender: 'Pictor <reports@example.com>', recipients: ['ops@example.com', 'cto@example.com'] };
  const { template: t } = synth({ reportMail: mail });
  const reportVars = (tt: typeof template) => {
    const [, fn] = Object.entries(resources(tt, 'AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('ReportFunction'),
    )!;
    return (fn as any).Properties.Environment.Variables;
  };

  test('the report function mails the configured recipients from the sender', () => {
    const vars = reportVars(t);
    assert.equal(vars.PICTOR_REPORT_SENDER, 'Pictor <reports@example.com>');
    assert.equal(vars.PICTOR_REPORT_RECIPIENTS, 'ops@example.com,cto@example.com');
    assert.equal(reportVars(template).PICTOR_REPORT_RECIPIENTS, '', 'no mail unless configured');
  });

  test('SES sending is allowed only through the sender identity, from that address', () => {
    const statements = Object.values(resources(t, 'AWS::IAM::Policy')).flatMap(
      (p: any) => p.Properties.PolicyDocument.Statement,
    );
    const sends = statements.filter((s: any) => JSON.stringify(s.Action).includes('ses:'));
    assert.equal(sends.length, 1);
    const [send] = sends;
    assert.deepEqual(send.Action, ['ses:SendEmail', 'ses:SendRawEmail']);
    const resourcesText = JSON.stringify(send.Resource);
    assert.match(resourcesText, /:identity\/reports@example\.com"/);
    assert.match(resourcesText, /:identity\/example\.com"/);
    assert.doesNotMatch(resourcesText, /\*/);
    assert.deepEqual(send.Condition, { StringEquals: { 'ses:FromAddress': 'reports@example.com' } });
    const none = Object.values(resources(template, 'AWS::IAM::Policy')).flatMap(
      (p: any) => p.Properties.PolicyDocument.Statement,
    );
    assert.equal(none.filter((s: any) => JSON.stringify(s.Action).includes('ses:')).length, 0);
  });

  test('addresses are checked at synth', () => {
    assert.throws(() => synth({ reportMail: { sender: 'reports', recipients: [] } }), /not a mail address/);
    assert.throws(
      () => synth({ reportMail: { sender: 'r@example.com', recipients: ['ops'] } }),
      /not a mail address/,
    );
  });
});

describe('the creators\' page', () => {
  test('is deployed to its bucket with a config that points it at the API', () => {
    const deployments = Object.values(resources(template, 'Custom::CDKBucketDeployment'));
    assert.equal(deployments.length, 1);
    const [deployment] = deployments as any[];
    const siteId = Object.keys(resources(template, 'AWS::S3::Bucket')).find((id) => id.startsWith('Site'))!;
    assert.deepEqual(deployment.Properties.DestinationBucketName, { Ref: siteId });
    assert.equal(deployment.Properties.Prune, true);
    // The page's files, and config.json with the API's endpoint filled in at deploy time.
    assert.equal(deployment.Properties.SourceObjectKeys.length, 2);
    const markers = JSON.stringify(deployment.Properties.SourceMarkers);
    assert.match(markers, /QueryApi/);
    assert.ok(deployment.Properties.DistributionId, 'the CDN forgets the old page');
  });

  test('ships the page files and not its tests or packages', () => {
    const { stack } = synth();
    const asset = stack.node
      .findAll()
      .find((c) => c.node.path.includes('/Page/Asset1'))!;
    const staged = (asset as any).assetPath as string;
    const outdir = (stack.node.root as any).outdir as string;
    const files = require('fs').readdirSync(require('path').join(outdir, staged)).sort();
    assert.deepEqual(files, ['app.css', 'app.js', 'index.html']);
  });

  test('config.json names the API and where to sign in', () => {
    const { stack } = synth({ signInUrl: 'https://auth.example/login' });
    const asset = stack.node.findAll().find((c) => c.node.path.includes('/Page/Asset2'))!;
    const outdir = (stack.node.root as any).outdir as string;
    const config = JSON.parse(
      require('fs').readFileSync(
        require('path').join(outdir, (asset as any).assetPath, 'config.json'),
        'utf8',
      ),
    );
    assert.equal(config.signInUrl, 'https://auth.example/login');
    // The endpoint is filled in at deploy time, in place of this marker.
    assert.match(config.apiUrl, /^<<marker:/);
  });
});
