import { BackupScript } from '../../src';
import {
  ACCOUNT, evaluateAsRole, hasSid, NamedPolicy, OTHER_ACCOUNT, REGION, RequestResource, ssmDocument, ssmTargetInstance,
  synthesizeIam, SynthesizedRole, widened,
} from '../helpers/iam-harness';
import { fullProps } from '../helpers/stacks';

/**
 * Issue 15: a script that is a Command document (BackupScript.fromSsmDocument). send-script's ssm:SendCommand is
 * scoped to exactly that document's ARN: the account's own by name, AWS's without an account, a shared one by the
 * owner's ARN (docs/fidelity/ssm.md). Proved by policy evaluation, each denial paired with a widened policy that allows.
 */
const TAGGED = { 'backup-job-pre-post-script': 'true' };
const SHARED = `arn:aws:ssm:${REGION}:${OTHER_ACCOUNT}:document/Shared-Thaw`;

/**
 * Whether the role's own policies allow SendCommand of `document` on a tagged instance. The identity decision: a
 * document shared from another account is authorized by SSM's document sharing, not by an IAM resource policy, so the
 * simulator's cross-account rule (a resource policy must also allow) does not apply to it.
 */
async function sendCommand(role: SynthesizedRole, document: RequestResource, policies?: NamedPolicy[]) {
  const [onDocument, onInstance] = await Promise.all([
    evaluateAsRole(role, 'ssm:SendCommand', document, {}, policies),
    evaluateAsRole(role, 'ssm:SendCommand', ssmTargetInstance({ tags: TAGGED }), {}, policies),
  ]);
  const decision = onDocument.identity ?? onDocument.result;
  return decision === 'Allowed' && onInstance.result === 'Allowed' ? 'Allowed' : `denied on the document: ${decision}`;
}

describe('send-script with the account\'s own document (pre) and one shared by ARN (post)', () => {
  let role: SynthesizedRole;
  beforeAll(() => {
    role = synthesizeIam(fullProps({
      preScript: BackupScript.fromSsmDocument('AppTeam-Freeze'),
      postScript: BackupScript.fromSsmDocument(SHARED),
    })).handlerRole('SendScript');
  });

  test('may send exactly the named documents', async () => {
    await expect(sendCommand(role, ssmDocument('AppTeam-Freeze', ACCOUNT))).resolves.toBe('Allowed');
    await expect(sendCommand(role, ssmDocument('Shared-Thaw', OTHER_ACCOUNT))).resolves.toBe('Allowed');
  });

  test('may not send another document: AWS-RunRemoteScript (no S3 script is configured), AWS-RunShellScript, a look-alike elsewhere', async () => {
    for (const document of [
      ssmDocument('AWS-RunRemoteScript'),
      ssmDocument('AWS-RunShellScript'),
      ssmDocument('AppTeam-Other', ACCOUNT),
      ssmDocument('AppTeam-Freeze', OTHER_ACCOUNT),
      ssmDocument('Shared-Thaw', ACCOUNT),
    ]) {
      await expect(sendCommand(role, document)).resolves.toBe('denied on the document: ImplicitlyDenied');
    }
  });

  test('the harness can tell: a document wildcard of the account lets another document through', async () => {
    const loose = widened(role.policies, hasSid('RunTheScriptDocument'), (s) => ({ ...s, Resource: [`arn:aws:ssm:${REGION}:${ACCOUNT}:document/*`] }));
    await expect(sendCommand(role, ssmDocument('AppTeam-Other', ACCOUNT), loose)).resolves.toBe('Allowed');
  });
});

describe('send-script with an AWS-owned document given by name', () => {
  let role: SynthesizedRole;
  beforeAll(() => {
    role = synthesizeIam(fullProps({
      preScript: BackupScript.fromSsmDocument('AWSEC2-CreateVssSnapshot', { dlmConvention: false }),
      postScript: undefined,
    })).handlerRole('SendScript');
  });

  test('may send AWS\'s document (ARN without account), not a look-alike in the account', async () => {
    await expect(sendCommand(role, ssmDocument('AWSEC2-CreateVssSnapshot'))).resolves.toBe('Allowed');
    await expect(sendCommand(role, ssmDocument('AWSEC2-CreateVssSnapshot', ACCOUNT))).resolves.toBe('denied on the document: ImplicitlyDenied');
    await expect(sendCommand(role, ssmDocument('AWS-RunRemoteScript'))).resolves.toBe('denied on the document: ImplicitlyDenied');
  });
});
