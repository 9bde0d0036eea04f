import { RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { suppress } from '../security/nag-suppressions';

/**
 * A backup vault encrypted with `encryptionKey`, or else with its own rotating KMS key, optionally locked; both
 * outlive the stack. The backup role needs no grant on the vault key: EC2 is not a resource type AWS Backup fully
 * manages, so its recovery points (AMIs, EBS snapshots) inherit the encryption of the instances' volumes, not the
 * vault's (https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html).
 */
export function createDefaultVault(scope: Construct, lock?: backup.LockConfiguration, encryptionKey?: kms.IKey): backup.BackupVault {
  const key = encryptionKey ?? new kms.Key(scope, 'BackupVaultKey', {
    description: 'Encrypts the pre/post-script backup vault',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  return new backup.BackupVault(scope, 'BackupVault', {
    encryptionKey: key,
    lockConfiguration: lock,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

const BACKUP_SERVICE_POLICY = 'service-role/AWSBackupServiceRolePolicyForBackup';

/** The role AWS Backup assumes to snapshot the instances: AWS Backup's own service policy. */
export function createDefaultBackupRole(scope: Construct): iam.Role {
  const role = new iam.Role(scope, 'BackupRole', {
    assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
    description: 'Assumed by AWS Backup to back up the instances of the pre/post-script backup workflow',
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(BACKUP_SERVICE_POLICY)],
  });
  suppress(role, [{
    id: 'AwsSolutions-IAM4',
    reason: 'AWSBackupServiceRolePolicyForBackup is the policy AWS Backup documents for its service role; AWS keeps it current with what EC2 backups need.',
    appliesTo: [`Policy::arn:<AWS::Partition>:iam::aws:policy/${BACKUP_SERVICE_POLICY}`],
  }]);
  return role;
}
