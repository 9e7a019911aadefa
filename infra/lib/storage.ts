import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { INDEXES, SORT_KEY, TABLE_KEY } from './table-design';

export interface StorageProps {
  /** What happens to buckets and the table when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** Days before an unfinished multipart upload is aborted. */
  readonly abortMultipartAfterDays: number;
  /** Days a noncurrent version of an original is kept before it expires. */
  readonly noncurrentVersionDays: number;
}

/** The uploads and output buckets, their access-log bucket, and the asset table. */
export class Storage extends Construct {
  readonly uploads: s3.Bucket;
  /** Renditions, reprocess manifests and reports (`shared/core/src/domain/layout.rs`). */
  readonly output: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const common = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: false,
    };
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
    this.uploads = new s3.Bucket(this, 'Uploads', {
      ...common,
      // Creators' originals: a delete or overwrite by mistake must be recoverable.
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'uploads/',
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(props.abortMultipartAfterDays) },
        // Deleted and replaced originals stay recoverable for a while, not forever; a delete
        // marker with no versions left behind it goes too.
        {
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays),
          expiredObjectDeleteMarker: true,
        },
      ],
    });
    // Renditions are content-addressed and can be remade from the originals: no versions.
    // The construct id keeps its first name: renaming it would replace a deployed bucket.
    this.output = new s3.Bucket(this, 'Renditions', {
      ...common,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'renditions/',
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(props.abortMultipartAfterDays) },
      ],
    });

    this.table = new dynamodb.Table(this, 'Assets', {
      partitionKey: { name: TABLE_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy,
    });
    for (const [indexName, partition] of INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: partition, type: dynamodb.AttributeType.STRING },
        sortKey: { name: SORT_KEY, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
}
