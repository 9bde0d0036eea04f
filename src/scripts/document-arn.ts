import { Stack, Token } from 'aws-cdk-lib';
import { isAwsOwnedDocumentName } from '../contract/script-document';

/**
 * The ARN IAM grants `ssm:SendCommand` on for a document given to SendCommand as `nameOrArn`: an ARN as given (a
 * document of this account or one shared with it); a name with a prefix AWS reserves (`aws`, `amazon`, `amzn`) is an
 * AWS-owned document, whose ARN has no account ("The account ID shouldn't be specified in the ARN for Amazon owned
 * public documents"); any other name (a deploy-time token included) is a document of the stack's account.
 * docs/fidelity/ssm.md.
 */
export function documentArn(stack: Stack, nameOrArn: string): string {
  if (!Token.isUnresolved(nameOrArn) && nameOrArn.startsWith('arn:')) {
    return nameOrArn;
  }
  const awsOwned = !Token.isUnresolved(nameOrArn) && isAwsOwnedDocumentName(nameOrArn);
  return stack.formatArn({ service: 'ssm', resource: 'document', resourceName: nameOrArn, ...(awsOwned ? { account: '' } : {}) });
}
