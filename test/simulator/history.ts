/**
 * Execution history event counts, by rules independent of the interpreter's own log format. The parent execution
 * and every iteration of a top-level Map (treated as one child execution of a Distributed Map) each have their own
 * history; a Map nested inside an iteration and Parallel branches stay in their execution's history (inline).
 * Event names are Step Functions' HistoryEventType values (API reference, "HistoryEvent").
 *
 * | what happens                                    | history events                                                        |
 * |-------------------------------------------------|-----------------------------------------------------------------------|
 * | an execution (parent or child) starts / ends    | ExecutionStarted; ExecutionSucceeded / ExecutionFailed / ExecutionTimedOut / ExecutionAborted |
 * | a state is entered / exited                     | <Type>StateEntered / <Type>StateExited (a Fail state never exits)      |
 * | a Task attempt, `lambda:invoke` and other request-response integrations | TaskScheduled, TaskStarted, then TaskSucceeded / TaskFailed / TaskTimedOut |
 * | a Task attempt, `.waitForTaskToken`             | TaskScheduled, TaskStarted, TaskSubmitted, then TaskSucceeded / TaskFailed / TaskTimedOut |
 * | a Task attempt, a Lambda ARN as Resource        | LambdaFunctionScheduled, LambdaFunctionStarted, then LambdaFunctionSucceeded / LambdaFunctionFailed / LambdaFunctionTimedOut |
 * | a top-level Map (Distributed) in the parent     | MapRunStarted, then MapRunSucceeded / MapRunFailed                     |
 * | a Map inside an iteration (inline)              | MapStateStarted, MapIterationStarted + MapIterationSucceeded / MapIterationFailed per item, MapStateSucceeded / MapStateFailed |
 * | a Parallel state                                | ParallelStateStarted, then ParallelStateSucceeded / ParallelStateFailed |
 * | a retry                                         | the next attempt's events again (no event of its own)                 |
 *
 * A caught failure counts its failure event, then the state's Exited event (no success event).
 */

export type TaskKind = 'lambdaArn' | 'requestResponse' | 'waitForTaskToken';

export function taskKind(resource: string): TaskKind {
  if (resource.endsWith('.waitForTaskToken')) return 'waitForTaskToken';
  if (resource.startsWith('arn:aws:lambda:')) return 'lambdaArn';
  return 'requestResponse';
}

/** Events at the start of one Task attempt. */
export function attemptStartEvents(kind: TaskKind): string[] {
  if (kind === 'lambdaArn') return ['LambdaFunctionScheduled', 'LambdaFunctionStarted'];
  return kind === 'waitForTaskToken' ? ['TaskScheduled', 'TaskStarted', 'TaskSubmitted'] : ['TaskScheduled', 'TaskStarted'];
}

/** The event ending one Task attempt. */
export function attemptEndEvent(kind: TaskKind, outcome: 'succeeded' | 'failed' | 'timedOut'): string {
  const prefix = kind === 'lambdaArn' ? 'LambdaFunction' : 'Task';
  return prefix + (outcome === 'succeeded' ? 'Succeeded' : outcome === 'failed' ? 'Failed' : 'TimedOut');
}

/** Counts history events per execution key; keeps the counts per event type too (for tests and reports). */
export class HistoryCounter {
  public readonly byExecution: Record<string, number> = {};
  public readonly byType: Record<string, number> = {};

  public add(execution: string, ...types: string[]): void {
    this.byExecution[execution] = (this.byExecution[execution] ?? 0) + types.length;
    for (const t of types) this.byType[t] = (this.byType[t] ?? 0) + 1;
  }

  public get max(): number {
    return Math.max(0, ...Object.values(this.byExecution));
  }
}
