import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';
import { awsError } from './handler-fixtures';

/**
 * The instance journal's items behind a mocked DocumentClient: the two UpdateItem forms of src/lambda-shared/journal.ts
 * (beginAction: SET if_not_exists, ALL_OLD; recordResource: conditional SET), and the wait registry's UpdateItems
 * (a first registration; the look recorded). The expressions themselves are evaluated by DynamoDB in
 * test/lambda-shared/journal.test.ts (dynalite); here only their effect is modelled.
 */
export class FakeJournal {
  /** Items by partition key. */
  public readonly items = new Map<string, Record<string, any>>();

  install(mock: AwsStub<any, any, any>): void {
    mock.on(UpdateCommand).callsFake((input) => {
      const key: string = input.Key.SM_Execution_ID;
      const names: Record<string, string> = input.ExpressionAttributeNames ?? {};
      const values: Record<string, any> = input.ExpressionAttributeValues ?? {};
      const expression = String(input.UpdateExpression);
      if (!key.startsWith('JOURNAL#')) {
        // The wait registry: the first registration of the wait; recording a look answers nothing.
        return expression.includes('#attempt') ? { Attributes: { Attempt: 1 } } : {};
      }
      const item = this.items.get(key) ?? {};
      const old = { ...item };
      if (expression.includes('if_not_exists(#intent')) {
        item[names['#intent']] ??= values[':now'];
        this.items.set(key, item);
        return { Attributes: old };
      }
      const resource = names['#resource'];
      if (item[names['#intent']] === undefined || (item[resource] !== undefined && item[resource] !== values[':id'])) {
        throw awsError('ConditionalCheckFailedException', 'The conditional request failed');
      }
      item[resource] = values[':id'];
      this.items.set(key, item);
      return {};
    });
  }

  /** The journal item of an execution and instance (undefined when nothing was journaled). */
  item(executionId: string, instanceId: string): Record<string, any> | undefined {
    return this.items.get(`JOURNAL#${executionId}#${instanceId}`);
  }

  /** Puts what an earlier invocation left: an intent, and the id when AWS's answer was recorded. */
  seed(executionId: string, instanceId: string, attributes: Record<string, any>): void {
    this.items.set(`JOURNAL#${executionId}#${instanceId}`, { ...attributes });
  }
}
