import { EventRouter } from './router';
import { CfnTemplate } from '../asl';
import { ec2StateChange } from './envelope';

const lambdaRes = (name: string) => ({ Type: 'AWS::Lambda::Function', Properties: { FunctionName: name } });
const target = (id: string, fn: string, extra: Record<string, unknown> = {}) => ({ Id: id, Arn: { 'Fn::GetAtt': [fn, 'Arn'] }, ...extra });
const pattern = { 'source': ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], 'detail': { state: ['stopped'] } };

const template: CfnTemplate = {
  Resources: {
    Resume: lambdaRes('resume'),
    Spy: lambdaRes('spy'),
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'custom' } },
    Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'alarms' } },
    OnDefault: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventPattern: pattern,
        Targets: [target('T1', 'Resume'), target('T2', 'Spy', { InputPath: '$.detail' }), { Id: 'T3', Arn: { Ref: 'Topic' } }],
      },
    },
    NamedDefault: { Type: 'AWS::Events::Rule', Properties: { EventBusName: 'default', EventPattern: JSON.stringify(pattern), Targets: [target('T1', 'Spy', { Input: '{"constant":true}' })] } },
    OnCustomBus: { Type: 'AWS::Events::Rule', Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: pattern, Targets: [target('T1', 'Spy')] } },
    Disabled: { Type: 'AWS::Events::Rule', Properties: { State: 'DISABLED', EventPattern: pattern, Targets: [target('T1', 'Spy')] } },
    Schedule: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 hour)', Targets: [target('T1', 'Spy')] } },
  },
};

const functionNameOf = (arn: string) => /:function:(resume|spy)$/.exec(arn)?.[1];

describe('EventRouter (default bus)', () => {
  const router = EventRouter.fromTemplate(template, functionNameOf);

  test('only enabled default-bus rules with a pattern are routed; non-Lambda targets are listed', () => {
    expect(router.rules.map((r) => r.logicalId).sort()).toEqual(['NamedDefault', 'OnDefault']);
    expect(router.ignoredTargets).toEqual([expect.stringMatching(/^OnDefault\/T3: arn:aws:sns:/)]);
  });

  test('a matching event reaches each target with the envelope, its InputPath or its constant Input', () => {
    const ev = ec2StateChange('i-0123', 'stopped', new Date('2026-01-01T00:00:00Z'));
    const deliveries = router.route(ev);
    expect(deliveries).toEqual([
      { rule: 'OnDefault', targetId: 'T1', functionName: 'resume', event: ev },
      { rule: 'OnDefault', targetId: 'T2', functionName: 'spy', event: { 'instance-id': 'i-0123', 'state': 'stopped' } },
      { rule: 'NamedDefault', targetId: 'T1', functionName: 'spy', event: { constant: true } },
    ]);
    expect(ev).toMatchObject({ version: '0', source: 'aws.ec2', account: '123456789012', region: 'us-east-1', time: '2026-01-01T00:00:00Z' });
  });

  test('a non-matching event goes nowhere', () => {
    expect(router.route(ec2StateChange('i-0123', 'stopping', new Date()))).toEqual([]);
  });

  test('an InputTransformer on a Lambda target is refused', () => {
    const t = JSON.parse(JSON.stringify(template));
    t.Resources.OnDefault.Properties.Targets[0].InputTransformer = { InputTemplate: '"x"' };
    expect(() => EventRouter.fromTemplate(t, functionNameOf)).toThrow(/InputTransformer is not supported/);
  });
});
