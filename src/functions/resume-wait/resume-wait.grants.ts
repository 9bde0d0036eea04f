import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { suppress } from '../../security/nag-suppressions';
import { describeEverything, FunctionGrants, GrantContext, waitItemsOnly } from '../grants';

/** resume-wait finds and clears the waiting task of a resource, and looks at the resource. */
export function resumeWaitGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: { AUDIT_TABLE_NAME: ctx.auditTable.tableName },
    statements: [
      waitItemsOnly(ctx, 'FindAndClearWaitingTasksOnly', ['dynamodb:GetItem', 'dynamodb:DeleteItem']),
      // Describe calls (resource-level permissions are not supported by these actions).
      describeEverything(ctx),
    ],
  };
}

/** resume-wait and every waiting step answer the Tasks they hold the tokens of. */
export function answerWaitingTasks(scope: Construct, roles: iam.IRole[]): iam.Policy {
  const policy = new iam.Policy(scope, 'AnswerWaitingTasks', {
    statements: [new iam.PolicyStatement({
      sid: 'AnswerWaitingTasks',
      actions: ['states:SendTaskSuccess'],
      // The Service Authorization Reference lists no resource type for SendTaskSuccess: IAM only accepts "*". The
      // task token is the capability: these functions only ever hold the tokens of this state machine's tasks.
      resources: ['*'],
    })],
    roles,
  });
  suppress(policy, [{
    id: 'AwsSolutions-IAM5',
    reason: 'states:SendTaskSuccess supports no resource-level permissions (Service Authorization Reference); the task token, which only this state machine hands these functions, is what scopes it.',
    appliesTo: ['Resource::*'],
  }]);
  return policy;
}
