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
    assert.equal(Object.keys(buckets).length, 3, 'uploads, renditions, access logs');
    for (const [id, bucket] of Object.entries(buckets)) {
      const block = bucket.Properties.PublicAccessBlockConfiguration;
      assert.deepEqual(
        [block.BlockPublicAcls, block.BlockPublicPolicy, block.IgnorePublicAcls, block.RestrictPublicBuckets],
        [true, true, true, true],
        id,
      );
      assert.equal(bucket.DeletionPolicy, 'Retain', id);
    }
    const policies = Object.values(resources(template, 'AWS::S3::BucketPolicy'));
    assert.equal(policies.length, 3);
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
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
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
    assert.equal(onQueues.length, 3, 'ingest, cleanup and report dead letters');
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
      assert.equal(alarms.filter((a: any) => a.Properties.MetricName === metric).length, 6, metric);
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
      Query: [...tracing, 's3:GetObject', 's3:PutObject', 's3:DeleteObject', 'dynamodb:GetItem', 'dynamodb:Query'],
      Reprocess: [...tracing, 's3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:DeleteObject', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'sqs:SendMessage', 'events:PutEvents'],
      Report: [...tracing, 'dynamodb:Query', 's3:PutObject', 's3:GetObject'],
      Reconcile: [...tracing, ...converging, 's3:PutObject', 'dynamodb:Query', 'events:PutEvents'],
    };
    for (const [fn, actions] of Object.entries(expected)) {
      assert.deepEqual(new Set(policyOf(fn)), new Set(actions), fn);
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
    assert.equal(puts.length, 4);
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
    ]);
    for (const r of routes) assert.equal(r.Properties.AuthorizationType, 'AWS_IAM');
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
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
    const none = JSON.stringify(resources(template, 'AWS::S3::Bucket'));
    assert.doesNotMatch(none, /CorsConfiguration/, 'no origins, no CORS');
    const { template: withCors } = synth({ corsOrigins: ['https://app.example'] });
    withCors.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({ AllowedOrigins: ['https://app.example'], AllowedMethods: ['POST'] }),
        ],
      },
    });
    withCors.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://app.example'],
        AllowMethods: ['GET', 'POST', 'DELETE'],
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
    assert.deepEqual(config.Origins[0].OriginAccessControlId, { 'Fn::GetAtt': [oacId, 'Id'] });
    const behavior = config.DefaultCacheBehavior;
    assert.equal(behavior.ViewerProtocolPolicy, 'redirect-to-https');
    assert.deepEqual(behavior.AllowedMethods, ['GET', 'HEAD']);
    // A managed policy that keeps the origin's Cache-Control (max TTL a year).
    assert.ok(behavior.CachePolicyId);

    const policies = Object.values(resources(template, 'AWS::S3::BucketPolicy'));
    const statements = policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const cloudfrontReads = statements.filter(
      (s: any) => s.Principal?.Service === 'cloudfront.amazonaws.com',
    );
    assert.equal(cloudfrontReads.length, 1, 'one grant to CloudFront, no other');
    const [grant] = cloudfrontReads;
    assert.equal(grant.Action, 's3:GetObject');
    assert.match(JSON.stringify(grant.Resource), /\/renditions\/\*"/);
    assert.ok(grant.Condition.StringEquals['AWS:SourceArn']);
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
