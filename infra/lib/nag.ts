import { Stack } from 'aws-cdk-lib';
import { NagSuppressions } from 'cdk-nag';
import { PictorStack } from './pictor-stack';

/** Every AwsSolutions finding the stack accepts, each with the reason it is acceptable. */
export function addNagSuppressions(stack: PictorStack): void {
  NagSuppressions.addStackSuppressions(stack, [
    {
      id: 'AwsSolutions-IAM4',
      reason:
        'AWSLambdaBasicExecutionRole only lets a function write its own logs; CDK attaches it ' +
        'to every function role, including its bucket-notification handler.',
    },
    {
      id: 'AwsSolutions-IAM5',
      reason:
        'Object wildcards are scoped to one key prefix of one bucket (uploads/, renditions/, ' +
        'manifests/, reports/) and index wildcards to the asset table\'s own indexes.',
      appliesTo: [
        {
          regex:
            '/^Resource::.*\\/(uploads|renditions|manifests|manifests\\/reports|reports|reports\\/reconcile)\\/\\*$/',
        },
        { regex: '/^Resource::.*\\/index\\/\\*$/' },
      ],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason:
        'X-Ray accepts trace segments only on "*"; CDK\'s bucket-notification handler needs ' +
        's3:PutBucketNotification on "*".',
      appliesTo: ['Resource::*'],
    },
  ]);
  for (const trigger of [stack.ingestTrigger, stack.cleanupTrigger]) {
    NagSuppressions.addResourceSuppressions(trigger.deadLetters, [
      { id: 'AwsSolutions-SQS3', reason: 'This is the dead-letter queue itself.' },
    ]);
  }
  for (const schedule of ['Report', 'Reconcile']) {
    NagSuppressions.addResourceSuppressionsByPath(
      stack,
      `/${stack.stackName}/${schedule}Failures/Resource`,
      [{ id: 'AwsSolutions-SQS3', reason: `This is the ${schedule.toLowerCase()} schedule's dead-letter queue itself.` }],
    );
  }
  NagSuppressions.addResourceSuppressions(stack.storage.accessLogs, [
    {
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket; logging its own access would loop.',
    },
  ]);
  if (stack.cdn) {
    NagSuppressions.addResourceSuppressions(stack.cdn, [
      {
        id: 'AwsSolutions-CFR7',
        reason:
          'Origin Access Control is attached by an override (OriginAccessControlId), so that the ' +
          'bucket policy can allow renditions/* only; the tests assert both.',
      },
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Creators and their audiences are worldwide; a deployment can add its own restrictions.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'It serves public, immutable image files from a cache; a deployment that needs a web ACL ' +
          'attaches its own.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'Standard logging needs an ACL-enabled bucket; origin fetches are in the output bucket\'s ' +
          'S3 access logs.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate cannot set a minimum TLS version; a deployment ' +
          'with its own domain and certificate sets TLSv1.2_2021.',
      },
    ]);
  }
  // CDK's page copier: reads its own asset bucket, writes the page's bucket, clears the CDN.
  const copier = Stack.of(stack)
    .node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (copier) {
    NagSuppressions.addResourceSuppressions(
      copier,
      [
        { id: 'AwsSolutions-L1', reason: 'CDK owns this handler and its runtime.' },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "CDK's BucketDeployment grants its copier s3:GetObject*/List* on the CDK asset bucket " +
            "and s3:*Object* on the page's own bucket, which holds only the page.",
        },
      ],
      true,
    );
  }
  const handler = Stack.of(stack)
    .node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  if (handler) {
    NagSuppressions.addResourceSuppressions(
      handler,
      [{ id: 'AwsSolutions-L1', reason: 'CDK owns this handler and its runtime.' }],
      true,
    );
  }
}
