/**
 * The central bus's resource policy, evaluated with @cloud-copilot/iam-simulate (through the IAM harness): who may
 * put events on the bus from another account of the organization, from outside it, or with another kind of event.
 * Every denial is paired with a widened policy that allows the same request, so a denial cannot come from a
 * malformed request.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { RUN_SUMMARY_DETAIL_TYPE, RUN_SUMMARY_SOURCE } from '../../src/contract/run-summary-event';
import { CENTRAL_ACCOUNT, CENTRAL_REGION, centralStack, everyOption, MEMBER_ACCOUNT, ORG_ID } from '../helpers/central';
import { Decision, evaluate, PolicyDocument, PolicyStatement } from '../helpers/iam-harness';
import { CfnTemplate, resolveTokens } from '../simulator/asl';

const BUS_NAME = 'pre-post-script-backup-runs';
const BUS_ARN = `arn:aws:events:${CENTRAL_REGION}:${CENTRAL_ACCOUNT}:event-bus/${BUS_NAME}`;
const OUTSIDER = '444455556666';
const OTHER_ORG = 'o-zzzzzzzzzz';

/** The bus policy of a central stack with every option on, its tokens resolved to concrete values. */
function busPolicy(): PolicyDocument {
  const template = Template.fromStack(centralStack(everyOption({ eventBusName: BUS_NAME })).stack).toJSON() as CfnTemplate;
  const resources = Object.entries(template.Resources ?? {});
  const [busId] = resources.find(([, r]) => r.Type === 'AWS::Events::EventBus')!;
  const overrides: Record<string, Record<string, string>> = {
    'AWS::Partition': { Ref: 'aws' },
    'AWS::Region': { Ref: CENTRAL_REGION },
    'AWS::AccountId': { Ref: CENTRAL_ACCOUNT },
    [busId]: { Ref: BUS_NAME, Name: BUS_NAME, Arn: BUS_ARN },
  };
  const statements = resources
    .filter(([, r]) => r.Type === 'AWS::Events::EventBusPolicy')
    .map(([, r]) => {
      expect((r.Properties!.EventBusName as { Ref: string }).Ref).toBe(busId);
      return resolveTokens(r.Properties!.Statement, template, { overrides }) as PolicyStatement;
    });
  return { Version: '2012-10-17', Statement: statements };
}

interface Sender {
  readonly account: string;
  /** The organization of the sender's account; undefined for an account in no organization. */
  readonly orgId?: string;
  /** Whether the sender's own policy allows PutEvents on any bus. */
  readonly canPut?: boolean;
}

const summaryEntry = { 'events:source': [RUN_SUMMARY_SOURCE], 'events:detail-type': [RUN_SUMMARY_DETAIL_TYPE] };

function putEvents(sender: Sender, policy: PolicyDocument, entries: Record<string, string[]> = summaryEntry): Promise<Decision> {
  return evaluate({
    principal: `arn:aws:iam::${sender.account}:role/AppBackupStateMachineRole`,
    action: 'events:PutEvents',
    resource: { arn: BUS_ARN, account: CENTRAL_ACCOUNT },
    context: { ...(sender.orgId ? { 'aws:PrincipalOrgID': sender.orgId } : {}), ...entries },
    identityPolicies: sender.canPut === false ? [] : [{
      name: 'sender',
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['events:PutEvents'], Resource: ['*'] }] },
    }],
    resourcePolicy: policy,
  });
}

const member: Sender = { account: MEMBER_ACCOUNT, orgId: ORG_ID };
const allowed = expect.objectContaining({ result: 'Allowed' });
const denied = expect.objectContaining({ result: 'ImplicitlyDenied' });

let policy: PolicyDocument;
beforeAll(() => { policy = busPolicy(); });

test('holds one statement: PutEvents on the bus, for principals of the organization, run summaries only', () => {
  expect(policy.Statement).toEqual([{
    Sid: 'cdk-OrganizationRunSummariesOnly',
    Effect: 'Allow',
    Principal: '*',
    Action: 'events:PutEvents',
    Resource: BUS_ARN,
    Condition: {
      'StringEquals': { 'aws:PrincipalOrgID': ORG_ID },
      'ForAllValues:StringEquals': { 'events:source': [RUN_SUMMARY_SOURCE], 'events:detail-type': [RUN_SUMMARY_DETAIL_TYPE] },
    },
  }]);
});

test('admits a run summary from a principal of another account of the organization', async () => {
  const decision = await putEvents(member, policy);
  expect(decision).toEqual(allowed);
  expect(decision.sameAccount).toBe(false);
});

test('admits nobody outside the organization, whatever their own policies allow', async () => {
  for (const sender of [
    { account: OUTSIDER, orgId: OTHER_ORG }, // another organization
    { account: OUTSIDER }, // an account in no organization
    { account: MEMBER_ACCOUNT }, // the member's account number, without the organization (a request AWS would never make, but the policy must not care)
  ]) {
    const decision = await putEvents(sender, policy);
    expect(decision).toEqual(denied);
    expect(decision.identity).toBe('Allowed'); // the sender's side allows it; the bus refuses
  }
});

test('the harness can tell: without the organization condition, the outsider gets in', async () => {
  const loose: PolicyDocument = {
    ...policy,
    Statement: policy.Statement.map(s => ({ ...s, Condition: { 'ForAllValues:StringEquals': s.Condition!['ForAllValues:StringEquals'] } })),
  };
  await expect(putEvents({ account: OUTSIDER, orgId: OTHER_ORG }, loose)).resolves.toEqual(allowed);
  await expect(putEvents({ account: OUTSIDER }, loose)).resolves.toEqual(allowed);
});

test('admits no other kind of event from the organization, alone or in a batch with a run summary', async () => {
  const others: Record<string, string[]>[] = [
    { 'events:source': ['com.example.orders'], 'events:detail-type': [RUN_SUMMARY_DETAIL_TYPE] },
    { 'events:source': [RUN_SUMMARY_SOURCE], 'events:detail-type': ['BackupSolution-PrePostScript'] },
    { 'events:source': [RUN_SUMMARY_SOURCE, 'com.example.orders'], 'events:detail-type': [RUN_SUMMARY_DETAIL_TYPE] },
  ];
  for (const entries of others) {
    await expect(putEvents(member, policy, entries)).resolves.toEqual(denied);
  }
  const anySource: PolicyDocument = {
    ...policy,
    Statement: policy.Statement.map(s => ({ ...s, Condition: { StringEquals: s.Condition!.StringEquals } })),
  };
  for (const entries of others) {
    await expect(putEvents(member, anySource, entries)).resolves.toEqual(allowed);
  }
});

test('admits nobody of the organization by the bus policy alone: a principal still needs its own grant', async () => {
  const decision = await putEvents({ ...member, canPut: false }, policy);
  expect(decision).toEqual(denied);
  expect(decision.resource).toBe('Allowed');
});
