import { ACCOUNT, Decision, evaluate, OTHER_ACCOUNT, PolicyDocument, synthesizeIam, SynthesizedIam } from '../helpers/iam-harness';
import { consumerStack, fullProps } from '../helpers/stacks';

/**
 * Opt-in org-scoped triggering: with allowStartFromOrganization, principals of that organization (a central
 * automation account) may put run events on the member's bus; nobody else, and no other kind of event.
 */

const ORG = 'o-a1b2c3d4e5';
const RUN_EVENT = { 'events:detail-type': ['BackupSolution-PrePostScript'] };

let withOrg: SynthesizedIam;
let withoutOrg: SynthesizedIam;
beforeAll(() => {
  withOrg = synthesizeIam(fullProps({ allowStartFromOrganization: ORG }));
  withoutOrg = synthesizeIam(fullProps());
});

function putEvents(
  iam: SynthesizedIam, account: string, orgId: string | undefined,
  entries: Record<string, string[]> = RUN_EVENT, policy?: PolicyDocument,
): Promise<Decision> {
  return evaluate({
    principal: `arn:aws:iam::${account}:role/CentralAutomation`,
    action: 'events:PutEvents',
    resource: { arn: iam.eventBusArn, account: ACCOUNT },
    context: { ...(orgId ? { 'aws:PrincipalOrgID': orgId } : {}), ...entries },
    identityPolicies: [{ name: 'automation', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['events:PutEvents'], Resource: ['*'] }] } }],
    resourcePolicy: policy ?? iam.eventBusPolicy,
  });
}

const allowed = expect.objectContaining({ result: 'Allowed' });
const denied = expect.objectContaining({ result: 'ImplicitlyDenied' });

test('off by default: an account of the organization cannot start runs', async () => {
  await expect(putEvents(withoutOrg, OTHER_ACCOUNT, ORG)).resolves.toEqual(denied);
});

test('on: a principal of another account of the organization may put run events', async () => {
  const decision = await putEvents(withOrg, OTHER_ACCOUNT, ORG);
  expect(decision).toEqual(allowed);
  expect(decision.sameAccount).toBe(false);
});

test('on: nobody outside the organization, and no other kind of event, even from inside it', async () => {
  await expect(putEvents(withOrg, OTHER_ACCOUNT, 'o-zzzzzzzzzz')).resolves.toEqual(denied);
  await expect(putEvents(withOrg, OTHER_ACCOUNT, undefined)).resolves.toEqual(denied);
  await expect(putEvents(withOrg, OTHER_ACCOUNT, ORG, { 'events:detail-type': ['Something else'] })).resolves.toEqual(denied);
  await expect(putEvents(withOrg, OTHER_ACCOUNT, ORG, { 'events:detail-type': ['BackupSolution-PrePostScript', 'Something else'] })).resolves.toEqual(denied);
});

test('the harness can tell: without the detail-type condition another event from the organization gets in', async () => {
  const loose: PolicyDocument = {
    ...withOrg.eventBusPolicy,
    Statement: withOrg.eventBusPolicy.Statement.map(s => s.Condition
      ? { ...s, Condition: { StringEquals: (s.Condition as any).StringEquals } } : s),
  };
  await expect(putEvents(withOrg, OTHER_ACCOUNT, ORG, { 'events:detail-type': ['Something else'] }, loose)).resolves.toEqual(allowed);
});

test('an organization id that is not one is refused at synth, saying what one looks like', () => {
  expect(() => consumerStack(fullProps({ allowStartFromOrganization: '123456789012' })))
    .toThrow(/allowStartFromOrganization '123456789012' is not an organization id; it looks like 'o-a1b2c3d4e5'/);
});
