import * as iam from 'aws-cdk-lib/aws-iam';
import { acting, FunctionGrants, GrantContext, onTaggedInstances, scriptDocumentArns, unscoped } from '../grants';

/** send-script runs the script document on a tagged instance, journaled, and looks at (or cancels) its invocation. */
export function sendScriptGrants(ctx: GrantContext): FunctionGrants {
  return acting(ctx, [
    new iam.PolicyStatement({
      sid: 'RunTheScriptDocument',
      actions: ['ssm:SendCommand'],
      resources: scriptDocumentArns(ctx),
    }),
    onTaggedInstances(ctx, 'OnTaggedInstancesOnly', ['ssm:SendCommand']),
    // SendCommand names the output bucket as a resource of its own when the command writes there.
    ...(ctx.scriptOutputBucket ? [new iam.PolicyStatement({
      sid: 'WriteOutputToTheOutputBucket',
      actions: ['ssm:SendCommand'],
      resources: [ctx.scriptOutputBucket.bucketArn],
    })] : []),
    // ListCommandInvocations: the invocation's status with its steps (src/lambda-shared/script-status.ts), and finding a
    // command whose SendCommand answer was lost. Waiting on events, send-script looks at the invocation itself once
    // registered (and cancels it at the bound). Neither action supports resource-level permissions.
    unscoped(ctx.waitOnEvents ? ['ssm:ListCommandInvocations', 'ssm:CancelCommand'] : ['ssm:ListCommandInvocations']),
  ]);
}
