import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  BACKUP_JOB_STATE_CHANGE,
  COPY_JOB_STATE_CHANGE,
  EC2_STATE_CHANGE,
  EC2_WAIT_STATES,
  SSM_FINAL_EVENT_STATUSES,
  SSM_INVOCATION_STATUS_CHANGE,
} from '../contract/events';
import { RUN_REMOTE_SCRIPT_DOCUMENT, BACKUP_JOB_FINAL_STATES, COPY_JOB_FINAL_STATES } from '../contract/status';

export interface StateChangeRulesProps {
  /** resume-wait: answers the Task waiting on the resource an event is about. */
  readonly resumeWait: lambda.IFunction;
  /** Where events that cannot be delivered go. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Whether copy jobs are waited on too. */
  readonly copies: boolean;
}

/**
 * Rules on the account's default bus (where AWS services put their events) that send the state changes the
 * waiting Tasks care about to resume-wait: an instance stopped or running, a script invocation over, a backup or
 * copy job over. Only final states are sent. An event that cannot be delivered goes to the dead-letter queue; the
 * Task's own fallback look covers it.
 */
export class StateChangeRules extends Construct {
  public readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: StateChangeRulesProps) {
    super(scope, id);
    const target = new targets.LambdaFunction(props.resumeWait, {
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts: 4,
      maxEventAge: Duration.hours(1),
    });
    const rule = (ruleId: string, description: string, pattern: events.EventPattern) => {
      this.rules.push(new events.Rule(this, ruleId, { description, eventPattern: pattern, targets: [target] }));
    };

    rule('InstanceStoppedOrRunning', 'pre/post-script backup: resumes the wait for an instance to stop or start', {
      source: [EC2_STATE_CHANGE.source],
      detailType: [EC2_STATE_CHANGE.detailType],
      detail: { state: Object.keys(EC2_WAIT_STATES) },
    });
    rule('ScriptOver', 'pre/post-script backup: resumes the wait for a script', {
      source: [SSM_INVOCATION_STATUS_CHANGE.source],
      detailType: [SSM_INVOCATION_STATUS_CHANGE.detailType],
      detail: { 'document-name': [RUN_REMOTE_SCRIPT_DOCUMENT], 'status': [...SSM_FINAL_EVENT_STATUSES] },
    });
    rule('BackupJobOver', 'pre/post-script backup: resumes the wait for a backup job', {
      source: [BACKUP_JOB_STATE_CHANGE.source],
      detailType: [BACKUP_JOB_STATE_CHANGE.detailType],
      detail: { state: [...BACKUP_JOB_FINAL_STATES] },
    });
    if (props.copies) {
      rule('CopyJobOver', 'pre/post-script backup: resumes the wait for a copy job', {
        source: [COPY_JOB_STATE_CHANGE.source],
        detailType: [COPY_JOB_STATE_CHANGE.detailType],
        detail: { state: [...COPY_JOB_FINAL_STATES] },
      });
    }
  }
}
