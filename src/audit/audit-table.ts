import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { AUDIT_RUN_INDEX_NAME, EXPIRES_AT, INSTANCE_ID, PARTITION_KEY, RUN_EXECUTION_ID } from '../contract/audit-schema';

/**
 * The audit table: one item per execution (`SM_Execution_ID` = execution ARN) holding the run's record,
 * plus one item per instance (`SM_Execution_ID` = `<execution ARN>#<instance id>`, listed by `RunIndex`)
 * so that no fleet is too large for the record. On-demand, point-in-time recovery, encrypted (with `encryptionKey`
 * when given, else the AWS managed key for DynamoDB), retained.
 */
export function createAuditTable(scope: Construct, id: string, encryptionKey?: kms.IKey): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...(encryptionKey
      ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey }
      : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
    timeToLiveAttribute: EXPIRES_AT,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  table.addGlobalSecondaryIndex({
    indexName: AUDIT_RUN_INDEX_NAME,
    partitionKey: { name: RUN_EXECUTION_ID, type: dynamodb.AttributeType.STRING },
    sortKey: { name: INSTANCE_ID, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  return table;
}
