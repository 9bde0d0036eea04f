import { Annotations, ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { PropsCheck } from '../validation/errors';

/**
 * The customer-managed key of `PrePostScriptBackupProps.encryptionKey`: its checks, the key policy statements the
 * AWS services that write with it need, and the grants of the construct's own roles.
 */

/** The KMS actions a role of the construct needs to read and write data encrypted with the key (no wildcards). */
export const KEY_USE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];

/**
 * Rejects a key the construct cannot use, before any resource is created: KMS keys are regional, and every
 * resource the key encrypts (table, log groups, topic, queue, functions, vault) is in the construct's Region.
 */
export function validateEncryptionKey(check: PropsCheck, scope: Construct, key: kms.IKey | undefined): void {
  if (!key) {
    return;
  }
  const stack = Stack.of(scope);
  const keyEnv = key.env;
  const differs = (a: string, b: string) => !Token.isUnresolved(a) && !Token.isUnresolved(b) && a !== b;
  if (differs(keyEnv.region, stack.region)) {
    check.fail('encryptionKey', `encryptionKey is in Region ${keyEnv.region} but the construct is in ${stack.region}; `
      + 'a KMS key encrypts resources of its own Region only: pass a key (or a multi-Region replica) of the construct\'s Region.');
  }
  if (differs(keyEnv.account, stack.account)) {
    check.fail('encryptionKey', `encryptionKey belongs to account ${keyEnv.account} but the construct is in ${stack.account}; `
      + 'CloudWatch Logs and SNS need a key of the account whose resources it encrypts: pass a key of the construct\'s account.');
  }
}

/** What uses the key besides the construct's own roles. */
export interface KeyServiceUses {
  /** CloudWatch alarms publish to the topic the key encrypts. */
  readonly alarmsPublish: boolean;
}

/**
 * Adds to the key's policy what the AWS services that write with the key on the construct's behalf need. An
 * imported key's policy cannot be changed here (addToResourcePolicy does nothing): a warning then lists what to add.
 *
 * - CloudWatch Logs encrypts the log groups: `logs.<region>.amazonaws.com`, conditioned on the log group ARN in the
 *   encryption context (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
 * - CloudWatch alarms publish to the encrypted topic: `cloudwatch.amazonaws.com`, kms:GenerateDataKey* and kms:Decrypt
 *   (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
 * - EventBridge sends the events it could not deliver to the encrypted dead-letter queue: `events.amazonaws.com`,
 *   kms:GenerateDataKey and kms:Decrypt (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
 */
export function allowServicesToUseKey(scope: Construct, key: kms.IKey, uses: KeyServiceUses): void {
  const stack = Stack.of(scope);
  const statements = [
    new iam.PolicyStatement({
      sid: 'PrePostScriptBackupCloudWatchLogs',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.${stack.urlSuffix}`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
    ...(uses.alarmsPublish ? [new iam.PolicyStatement({
      sid: 'PrePostScriptBackupCloudWatchAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      resources: ['*'],
    })] : []),
    new iam.PolicyStatement({
      sid: 'PrePostScriptBackupEventBridgeDeadLetters',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: ['*'],
    }),
  ];
  const added = statements.map(s => key.addToResourcePolicy(s).statementAdded);
  if (added.some(a => !a)) {
    Annotations.of(scope).addWarningV2('cdk-pre-post-script-backup:importedEncryptionKey',
      'encryptionKey is imported: its key policy cannot be changed by this stack. Add these statements to it yourself, or '
      + 'the log groups, the alarm notifications and the dead-letter queue cannot use it: '
      + JSON.stringify(stack.resolve(statements.map(s => s.toStatementJson()))));
  }
}
