/**
 * The organization-wide rollout example (examples/org), synthesized for 3 accounts x 2 Regions: every member stack
 * holds the same backup and names no account or Region but its own; the central stack holds the org-restricted bus.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { configFromContext, OrgRolloutConfig, PLACEHOLDER_CONFIG } from '../../examples/org/config';
import { OrgRollout, orgRollout } from '../../examples/org/stages';
import { RUN_SUMMARY_DETAIL_TYPE, RUN_SUMMARY_SOURCE } from '../../src/contract/run-summary-event';

const CONFIG: OrgRolloutConfig = {
  organizationId: 'o-exampleorg01',
  central: { account: '999988887777', region: 'eu-central-1' },
  centralBusName: 'pre-post-script-backup-runs',
  targetAccounts: ['111122223333', '222233334444', '333344445555'],
  targetRegions: ['eu-west-1', 'us-east-1'],
};

const ACCOUNT = /(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])/g;
const REGION = /(?<![0-9A-Za-z-])[a-z]{2}(?:-gov)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d(?![0-9A-Za-z])/g;

/** Every account id and Region name written literally in a template, besides the central bus's ARN. */
function literalEnvironments(template: unknown): { accounts: Set<string>; regions: Set<string> } {
  const centralBus = `:events:${CONFIG.central.region}:${CONFIG.central.account}:event-bus/${CONFIG.centralBusName}`;
  const text = JSON.stringify(template).split(centralBus).join(':events:<central bus>');
  return { accounts: new Set(text.match(ACCOUNT) ?? []), regions: new Set(text.match(REGION) ?? []) };
}

let outdir: string;
let rollout: OrgRollout;
beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'org-example-'));
  const app = new App({ outdir });
  rollout = orgRollout(app, CONFIG);
  app.synth();
});
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

test('one stage per target account and Region, each with one stack in that environment', () => {
  const envs = rollout.members.map(m => `${m.stack.account}/${m.stack.region}`);
  expect(envs.sort()).toEqual(CONFIG.targetAccounts.flatMap(a => CONFIG.targetRegions.map(r => `${a}/${r}`)).sort());
  for (const member of rollout.members) {
    expect(member.account).toBe(member.stack.account);
    expect(member.region).toBe(member.stack.region);
    expect(member.node.findAll().filter(c => c instanceof (member.stack.constructor as any))).toHaveLength(1);
  }
  expect(fs.readdirSync(outdir).filter(f => f.startsWith('assembly-')).sort()).toEqual([
    'assembly-Backup-111122223333-eu-west-1', 'assembly-Backup-111122223333-us-east-1',
    'assembly-Backup-222233334444-eu-west-1', 'assembly-Backup-222233334444-us-east-1',
    'assembly-Backup-333344445555-eu-west-1', 'assembly-Backup-333344445555-us-east-1',
    'assembly-Central',
  ]);
});

describe.each(CONFIG.targetAccounts.flatMap(a => CONFIG.targetRegions.map(r => [a, r])))('the member stack of %s in %s', (account, region) => {
  let template: Template;
  beforeAll(() => {
    const member = rollout.members.find(m => m.stack.account === account && m.stack.region === region)!;
    template = Template.fromStack(member.stack);
  });

  test('holds the backup: its state machine, bus, audit table, vault and schedule', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD' });
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Backup::BackupVault', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', { KeySchema: [{ AttributeName: 'SM_Execution_ID', KeyType: 'HASH' }] });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 2 * * ? *)' });
  });

  test('forwards every run summary to the central bus', () => {
    const centralBus = `arn:aws:events:${CONFIG.central.region}:${CONFIG.central.account}:event-bus/${CONFIG.centralBusName}`;
    const definition = JSON.stringify(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(definition).toContain('Forward run summary');
    expect(definition).toContain(centralBus);
    const puts = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(p => p.Properties.PolicyDocument.Statement as any[])
      .filter(st => [st.Action].flat().includes('events:PutEvents'));
    expect(puts.map(st => st.Resource)).toEqual([centralBus]);
  });

  test('names no account or Region but its own', () => {
    const found = literalEnvironments(template.toJSON());
    expect(found.accounts).toContain(account); // the scan finds literal accounts and Regions: its own
    expect(found.regions).toContain(region);
    expect([...found.accounts].filter(a => a !== account)).toEqual([]);
    expect([...found.regions].filter(r => r !== region)).toEqual([]);
  });
});

test('every member stack is the same backup: the templates differ only in their account, Region and generated names', () => {
  const normalized = rollout.members.map(m => JSON.stringify(Template.fromStack(m.stack).toJSON())
    .split(m.stack.account).join('<account>')
    .split(m.stack.region).join('<region>')
    // Names CDK generates from the construct path (the stage id holds the account and Region), hash included.
    .replace(/[A-Za-z0-9<>]*PrePostScriptBackup[A-Za-z0-9]*[0-9A-F]{8}/g, '<generated name>'));
  expect(new Set(normalized).size).toBe(1);
  expect(normalized[0]).toContain('<generated name>');
});

describe('the central stack', () => {
  let template: Template;
  beforeAll(() => { template = Template.fromStack(rollout.central.stack); });

  test('is in the central account and Region and holds the org-restricted bus', () => {
    expect(rollout.central.stack.account).toBe(CONFIG.central.account);
    expect(rollout.central.stack.region).toBe(CONFIG.central.region);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: CONFIG.centralBusName });
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Condition: {
          'StringEquals': { 'aws:PrincipalOrgID': CONFIG.organizationId },
          'ForAllValues:StringEquals': { 'events:source': [RUN_SUMMARY_SOURCE], 'events:detail-type': [RUN_SUMMARY_DETAIL_TYPE] },
        },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { 'detail-type': [RUN_SUMMARY_DETAIL_TYPE] } });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.anyValue() }] });
    template.resourcePropertiesCountIs('AWS::StepFunctions::StateMachine', { StateMachineType: 'EXPRESS' }, 1);
  });

  test('names no member account or Region', () => {
    const found = literalEnvironments(template.toJSON());
    expect(found.accounts).toContain(CONFIG.central.account);
    expect([...found.accounts].filter(a => a !== CONFIG.central.account)).toEqual([]);
    expect([...found.regions].filter(r => r !== CONFIG.central.region)).toEqual([]);
  });

  test('the central bus ARN is known to the members before anything is deployed', () => {
    expect(rollout.central.stack.resolve(rollout.central.audit.eventBus.eventBusName)).toEqual({ Ref: expect.any(String) });
    const app = new App();
    const { central, members } = orgRollout(app, CONFIG);
    expect(members[0].stack.resolve(central.audit.eventBus.eventBusArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:events:${CONFIG.central.region}:${CONFIG.central.account}:event-bus/${CONFIG.centralBusName}`]],
    });
  });
});

describe('the example\'s configuration', () => {
  const fromContext = (context: Record<string, string>) => configFromContext(new App({ context }).node);

  test('comes from CDK context, with placeholders that synthesize offline', () => {
    expect(fromContext({})).toEqual(PLACEHOLDER_CONFIG);
    expect(fromContext({
      organizationId: CONFIG.organizationId,
      centralAccount: CONFIG.central.account,
      centralRegion: CONFIG.central.region,
      targetAccounts: CONFIG.targetAccounts.join(', '),
      targetRegions: CONFIG.targetRegions.join(','),
    })).toEqual(CONFIG);
  });

  test('refuses what cannot be an account or a Region, and duplicates', () => {
    expect(() => fromContext({ targetAccounts: '1111-2222-3333' })).toThrow(/not an AWS account id/);
    expect(() => fromContext({ targetRegions: 'Ireland' })).toThrow(/not an AWS Region name/);
    expect(() => fromContext({ targetRegions: 'eu-west-1,eu-west-1' })).toThrow(/listed twice/);
    expect(() => fromContext({ targetAccounts: ',' })).toThrow(/at least one target account/);
  });
});
