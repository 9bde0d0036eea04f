import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * A construct's own key for its log groups, when the user gives no `encryptionKey`: rotating, retained, usable by
 * CloudWatch Logs of the stack's Region for the log groups of the stack's account only (encryption context
 * `aws:logs:arn`).
 *
 * @param description what the key encrypts, shown in the KMS console
 */
export function createLogsKey(scope: Construct, description: string): kms.Key {
  const stack = Stack.of(scope);
  const key = new kms.Key(scope, 'LogsKey', {
    description,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.${stack.urlSuffix}`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: {
      ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    },
  }));
  return key;
}
