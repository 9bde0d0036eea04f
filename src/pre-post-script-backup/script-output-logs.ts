import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * The log group SSM Run Command sends the scripts' full output to (SendCommand `CloudWatchOutputConfig`): created by
 * the construct, because a group named in CloudWatchOutputConfig is not created by SSM (only its default
 * `/aws/ssm/<document>` group is), and so that it is encrypted and kept for the construct's log retention like the
 * construct's other logs (docs/fidelity/ssm.md).
 */
export function createScriptOutputLogGroup(scope: Construct, props: { retention: logs.RetentionDays; encryptionKey: kms.IKey }): logs.LogGroup {
  return new logs.LogGroup(scope, 'ScriptOutputLogs', {
    retention: props.retention,
    encryptionKey: props.encryptionKey,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

/**
 * Whether the scripts' output goes to CloudWatch Logs: as asked, else unless it goes to S3 (one full copy is enough by
 * default; both when asked).
 */
export function outputToCloudWatchLogs(asked: boolean | undefined, hasOutputBucket: boolean, hasScript: boolean): boolean {
  return hasScript && (asked ?? !hasOutputBucket);
}
