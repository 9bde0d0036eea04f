/**
 * Task tokens of `.waitForTaskToken` Task states: issued by the simulator, answered through the fake Step
 * Functions endpoint (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat), or timed out by the simulator.
 */
import { randomBytes } from 'crypto';

export type TokenStatus = 'waiting' | 'succeeded' | 'failed' | 'timedOut' | 'invokeFailed';

export interface TaskToken {
  readonly token: string;
  readonly executionArn: string;
  readonly stateName: string;
  /** The instance the wait is about (the Payload's `instanceId`). */
  readonly instanceId?: string;
  status: TokenStatus;
  /** SendTaskSuccess's output, parsed. */
  output?: unknown;
  error?: string;
  cause?: string;
  heartbeats: number;
}

/** The errors Step Functions answers to SendTask* calls. */
export class TokenError extends Error {
  constructor(public readonly code: 'InvalidToken' | 'TaskTimedOut' | 'TaskDoesNotExist' | 'InvalidOutput', message: string) {
    super(message);
    this.name = code;
  }
}

export class TokenRegistry {
  private readonly tokens = new Map<string, TaskToken>();
  private counter = 0;

  public issue(t: { executionArn: string; stateName: string; instanceId?: string }): TaskToken {
    this.counter++;
    // Opaque and long like real tokens; the counter keeps them unique and readable in failures.
    const token = `SIMTOKEN${this.counter.toString(36).padStart(6, '0')}${randomBytes(24).toString('base64url')}`;
    const entry: TaskToken = { ...t, token, status: 'waiting', heartbeats: 0 };
    this.tokens.set(token, entry);
    return entry;
  }

  public get(token: string): TaskToken | undefined {
    return this.tokens.get(token);
  }

  /** Every token issued (optionally of one execution). */
  public all(executionArn?: string): TaskToken[] {
    return [...this.tokens.values()].filter((t) => !executionArn || t.executionArn === executionArn);
  }

  /** The token as SendTask* calls find it: unknown -> InvalidToken, no longer waiting -> TaskTimedOut (as AWS). */
  private live(token: unknown): TaskToken {
    if (typeof token !== 'string' || token.length === 0 || token.length > 2048) {
      throw new TokenError('InvalidToken', 'Invalid token');
    }
    const t = this.tokens.get(token);
    if (!t) throw new TokenError('InvalidToken', 'Invalid token');
    if (t.status !== 'waiting') throw new TokenError('TaskTimedOut', 'Task Timed Out');
    return t;
  }

  public succeed(token: unknown, output: unknown): TaskToken {
    const t = this.live(token);
    if (typeof output !== 'string') throw new TokenError('InvalidOutput', 'output must be a JSON string');
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new TokenError('InvalidOutput', 'Invalid State Machine Execution output: the output is not valid JSON');
    }
    t.status = 'succeeded';
    t.output = parsed;
    return t;
  }

  public fail(token: unknown, error: unknown, cause: unknown): TaskToken {
    const t = this.live(token);
    t.status = 'failed';
    t.error = typeof error === 'string' ? error : '';
    t.cause = typeof cause === 'string' ? cause : '';
    return t;
  }

  public heartbeat(token: unknown): TaskToken {
    const t = this.live(token);
    t.heartbeats++;
    return t;
  }

  /** The simulator ends a wait that nothing answered in time. */
  public timeOut(t: TaskToken): void {
    if (t.status === 'waiting') t.status = 'timedOut';
  }

  /** The Lambda that should have passed the token on failed: the task failed with its error. */
  public invokeFailed(t: TaskToken): void {
    if (t.status === 'waiting') t.status = 'invokeFailed';
  }

  public reset(): void {
    this.tokens.clear();
  }
}
