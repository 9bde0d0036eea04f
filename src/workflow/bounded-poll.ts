import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface BoundedPollProps {
  /** The state that starts the step and returns its first result (may be `check` itself). */
  readonly first: sfn.INextable & sfn.IChainable;
  /** The state that looks again; returns a result with `done` and `poll` at `resultPath`. */
  readonly check: sfn.INextable & sfn.IChainable;
  /** Where `first` and `check` put their result. */
  readonly resultPath: string;
  /** Where the workflow goes once the result is final or the wait is over its bound. */
  readonly whenDone: sfn.IChainable;
}

/**
 * A bounded wait: first → (done? → whenDone | Wait nextWaitSeconds → check → done? ...).
 *
 * The handler advances the poll state (capped backoff) and sets `done` when the result is final or
 * `poll.expired` when the bound is reached, so no loop can run forever: the Choice leaves on either.
 */
export function boundedPoll(scope: Construct, prefix: string, props: BoundedPollProps): sfn.IChainable {
  const isDone = new sfn.Choice(scope, `${prefix}: done?`);
  const wait = new sfn.Wait(scope, `${prefix}: wait`, {
    time: sfn.WaitTime.secondsPath(`${props.resultPath}.poll.nextWaitSeconds`),
  });
  props.first.next(isDone);
  if (props.check !== props.first) {
    props.check.next(isDone);
  }
  isDone
    .when(sfn.Condition.booleanEquals(`${props.resultPath}.done`, true), props.whenDone)
    .when(sfn.Condition.booleanEquals(`${props.resultPath}.poll.expired`, true), props.whenDone)
    .otherwise(wait);
  wait.next(props.check);
  return props.first;
}
