import { normalizeDefinition, resolveStateMachine, resolveTokens, CfnTemplate } from './asl';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' } });

const template: CfnTemplate = {
  Parameters: { Env: { Type: 'String', Default: 'prod' } },
  Resources: {
    Fn1: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
    Named: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: { 'Fn::Join': ['-', ['fn', { Ref: 'Env' }]] } } },
    Audit: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    Role: { Type: 'AWS::IAM::Role', Properties: {} },
    Vault: { Type: 'AWS::Backup::BackupVault', Properties: { BackupVaultName: 'my-vault' } },
    Odd: { Type: 'AWS::Some::Thing', Properties: {} },
    SM: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        DefinitionString: {
          'Fn::Join': ['', [
            '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"',
            { 'Fn::GetAtt': ['Fn1', 'Arn'] },
            '","ResultPath":"$","Next":"B"},"B":{"Type":"Task","Resource":"arn:',
            { Ref: 'AWS::Partition' },
            ':states:::dynamodb:putItem","Parameters":{"TableName":"',
            { Ref: 'Audit' },
            '","Item":{}},"End":true}}}',
          ]],
        },
      },
    },
  },
};

describe('resolveTokens', () => {
  test('resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select/Fn::Split and pseudo parameters', () => {
    expect(resolveTokens({
      arn: { 'Fn::GetAtt': ['Fn1', 'Arn'] },
      named: { 'Fn::GetAtt': 'Named.Arn' },
      table: { Ref: 'Audit' },
      tableArn: { 'Fn::GetAtt': ['Audit', 'Arn'] },
      role: { 'Fn::GetAtt': ['Role', 'Arn'] },
      vault: { Ref: 'Vault' },
      sub: { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/-${Vault.BackupVaultArn}-${!Literal}' },
      sub2: { 'Fn::Sub': ['${A}.${AWS::URLSuffix}', { A: { Ref: 'Env' } }] },
      sel: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] },
      list: [{ Ref: 'AWS::Region' }, 3, true, null],
    }, template)).toEqual({
      arn: 'arn:aws:lambda:us-east-1:123456789012:function:Fn1',
      named: 'arn:aws:lambda:us-east-1:123456789012:function:fn-prod',
      table: 'Audit',
      tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/Audit',
      role: 'arn:aws:iam::123456789012:role/Role',
      vault: 'my-vault',
      sub: 'arn:aws:ec2:us-east-1:123456789012:instance/-arn:aws:backup:us-east-1:123456789012:backup-vault:my-vault-${Literal}',
      sub2: 'prod.amazonaws.com',
      sel: 'b',
      list: ['us-east-1', 3, true, null],
    });
  });

  test('throws a clear error for what it cannot resolve', () => {
    expect(() => resolveTokens({ Ref: 'Odd' }, template)).toThrow(/cannot resolve Ref of a AWS::Some::Thing/);
    expect(() => resolveTokens({ Ref: 'Missing' }, template)).toThrow(/no resource Missing/);
    expect(() => resolveTokens({ 'Fn::ImportValue': 'x' }, template)).toThrow(/Fn::ImportValue is not supported/);
    expect(() => resolveTokens({ 'Fn::GetAtt': ['Audit', 'Nope'] }, template)).toThrow(/cannot resolve Nope/);
    expect(resolveTokens({ Ref: 'Odd' }, template, { overrides: { Odd: { Ref: 'odd-value' } } })).toBe('odd-value');
  });
});

describe('resolveStateMachine', () => {
  test('turns the DefinitionString into plain ASL with fake ARNs and drops ResultPath "$"', () => {
    const sm = resolveStateMachine(template);
    expect(sm).toMatchObject({ logicalId: 'SM', name: 'SM', arn: 'arn:aws:states:us-east-1:123456789012:stateMachine:SM' });
    expect(sm.definition.States.A).toEqual({ Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:Fn1', Next: 'B' });
    expect(sm.definition.States.B.Resource).toBe('arn:aws:states:::dynamodb:putItem');
    expect(sm.definition.States.B.Parameters.TableName).toBe('Audit');
  });

  test('rejects JSONata, at the top or in one state', () => {
    const withDef = (def: object): CfnTemplate => ({ Resources: { SM: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: JSON.stringify(def) } } } });
    expect(() => resolveStateMachine(withDef({ QueryLanguage: 'JSONata', StartAt: 'P', States: { P: { Type: 'Pass', End: true } } })))
      .toThrow(/JSONata/);
    expect(() => resolveStateMachine(withDef({
      StartAt: 'M',
      States: { M: { Type: 'Map', End: true, ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', QueryLanguage: 'JSONata', Output: '{% $states.input %}', End: true } } } } },
    }))).toThrow(/state P uses QueryLanguage JSONata/);
    expect(() => resolveStateMachine(withDef({ StartAt: 'P', States: { P: { Type: 'Pass', Assign: { x: 1 }, End: true } } }))).toThrow(/Assign/);
  });

  test('runs lambda:invoke.waitForTaskToken (the simulator issues tokens) and rejects other .waitForTaskToken integrations', () => {
    const withDef = (def: object): CfnTemplate => ({ Resources: { SM: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: JSON.stringify(def) } } } });
    const task = (resource: string) => withDef({ StartAt: 'T', States: { T: { Type: 'Task', Resource: resource, Parameters: { 'taskToken.$': '$$.Task.Token' }, End: true } } });
    expect(() => resolveStateMachine(task('arn:aws:states:::lambda:invoke.waitForTaskToken'))).not.toThrow();
    expect(() => resolveStateMachine(task('arn:aws:states:::sqs:sendMessage.waitForTaskToken'))).toThrow(/sqs:sendMessage.waitForTaskToken; the simulator runs only lambda:invoke/);
  });
});

describe('ResultPath "$" normalization', () => {
  // A Pass with Result and ResultPath "$" replaces its input; inside a Map, and in a Catch.
  const definition = {
    StartAt: 'Map',
    States: {
      Map: {
        Type: 'Map',
        ItemsPath: '$.items',
        Next: 'Caught',
        ItemProcessor: {
          StartAt: 'Replace',
          States: {
            Replace: { Type: 'Pass', Result: { replaced: true }, ResultPath: '$', Next: 'Boom' },
            Boom: {
              Type: 'Fail', Error: 'Oops', Cause: 'x',
            },
          },
        },
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$', Next: 'Caught' }],
      },
      Caught: { Type: 'Pass', End: true },
    },
  };

  test('normalization removes every ResultPath "$", recursively, catchers included', () => {
    const n = normalizeDefinition(definition as any);
    const text = JSON.stringify(n);
    expect(text).not.toContain('"ResultPath":"$"');
    expect(JSON.stringify(definition)).toContain('"ResultPath":"$"'); // the input is not modified
    expect(n.States.Map.ItemProcessor.States.Replace).toEqual({ Type: 'Pass', Result: { replaced: true }, Next: 'Boom' });
  });

  test('aws-local-stepfunctions runs ResultPath "$" wrongly; the normalized definition runs right', async () => {
    const simple = { StartAt: 'Replace', States: { Replace: { Type: 'Pass', Result: { replaced: true }, ResultPath: '$', End: true } } };
    const raw = await new StateMachine(simple as any).run({ original: 1 }).result;
    expect(raw).not.toEqual({ replaced: true }); // the library's bug: the result lands under a key "$"
    const fixed = await new StateMachine(normalizeDefinition(simple as any) as any).run({ original: 1 }).result;
    expect(fixed).toEqual({ replaced: true });

    const caught = await new StateMachine(normalizeDefinition(definition as any) as any).run({ items: [1] }).result;
    expect(caught).toEqual({ Error: 'Oops', Cause: 'x' });
  });
});
