import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import * as path from 'path';
import { copyCommands, ShippedFile } from './branding';

/** Memory and timeout of one function. */
export interface FunctionSize {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

export interface PictorFunctionProps {
  /** The crate's binary (`pictor-ingest`, ...). */
  readonly binaryName: string;
  /** The deployed function's name. */
  readonly functionName: string;
  /** The crate's folder under `functions/`. */
  readonly crateDir: string;
  readonly size: FunctionSize;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly reservedConcurrency?: number;
  /** Files shipped in the bundle beside the binary (the spec and its logos). */
  readonly shippedFiles?: readonly ShippedFile[];
  /** The crate's Cargo features to build with (`avif`). */
  readonly cargoFeatures?: readonly string[];
}

/** The flags `cargo lambda build` gets beyond the profile and architecture. */
export function cargoFlags(features: readonly string[]): string[] {
  return features.length > 0 ? ['--features', features.join(',')] : [];
}

/** The repository root, where the Cargo workspace is. */
export const WORKSPACE = path.resolve(__dirname, '..', '..');

/**
 * One Rust function: built for arm64 by cargo-lambda (the workspace's `lambda-release` profile),
 * JSON logs in a log group with a retention, X-Ray tracing, and its alarms.
 */
export class PictorFunction extends Construct {
  readonly fn: lambda.Function;
  readonly alarms: cloudwatch.Alarm[];
  /** What `cargo lambda build` is given beyond the profile and architecture. */
  readonly cargoFlags: readonly string[];

  constructor(scope: Construct, id: string, props: PictorFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.cargoFlags = cargoFlags(props.cargoFeatures ?? []);
    this.fn = new RustFunction(this, 'Function', {
      manifestPath: path.join(WORKSPACE, 'functions', props.crateDir, 'Cargo.toml'),
      binaryName: props.binaryName,
      functionName: props.functionName,
      runtime: 'provided.al2023',
      architecture: lambda.Architecture.ARM_64,
      bundling: {
        architecture: lambda.Architecture.ARM_64,
        profile: 'lambda-release',
        cargoLambdaFlags: [...this.cargoFlags],
        commandHooks: {
          beforeBundling: () => [],
          afterBundling: (_input: string, output: string) =>
            copyCommands(props.shippedFiles ?? [], output),
        },
      },
      memorySize: props.size.memoryMb,
      timeout: Duration.seconds(props.size.timeoutSeconds),
      environment: props.environment,
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      reservedConcurrentExecutions: props.reservedConcurrency,
    });
    const period = Duration.minutes(5);
    this.alarms = [
      new cloudwatch.Alarm(this, 'Errors', {
        alarmDescription: `${props.binaryName}: invocations failed`,
        metric: this.fn.metricErrors({ period }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'Throttles', {
        alarmDescription: `${props.binaryName}: invocations throttled`,
        metric: this.fn.metricThrottles({ period }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'Duration', {
        alarmDescription: `${props.binaryName}: p99 duration above 80% of the timeout`,
        metric: this.fn.metricDuration({ period, statistic: 'p99' }),
        threshold: props.size.timeoutSeconds * 1000 * 0.8,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
  }
}
