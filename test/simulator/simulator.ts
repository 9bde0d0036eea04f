/**
 * Runs a synthesized Step Functions state machine locally (aws-local-stepfunctions) with its bundled Lambda
 * handlers called in-process, against loopback fakes of EC2, SSM and AWS Backup and a dynalite DynamoDB.
 *
 *   const sim = await Simulator.start({ template, assetDir });
 *   sim.world.addInstances([...]);
 *   const r = await sim.run({}, { executionName: 'nightly' });
 *   await sim.getAuditItem(r.executionArn);
 *   await sim.stop();
 */
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ModelViolation } from './api-model';
import { AslDefinition, CfnTemplate, lambdaArn, resolveStateMachine, ResolvedStateMachine, resourcesOfType, tableName, TokenOverrides, walkStates } from './asl';
import type { EmittedEvent } from './events/envelope';
import { EventRouter } from './events/router';
import { backupHandler } from './fakes/backup';
import { createTables, Dynalite, dynamodbHandler } from './fakes/dynamodb';
import { ec2Handler } from './fakes/ec2';
import { FakeServer } from './fakes/http';
import { sfnHandler } from './fakes/sfn';
import { ssmHandler } from './fakes/ssm';
import { describeFunctions, Handler, LambdaFunction, loadHandler, realProcess, toTaskError, unionEnvironment } from './lambda';
import { localStepFunctions } from './local-stepfunctions';
import { ChainKill, isDistributedMap, LONGEST_WALL_CLOCK_TIMEOUT_SECONDS, MapRunRecord, runMapRun, withMapRunTasks } from './map-run';
import { instanceStats, InstanceStats } from './measures';
import { emptyBucket, IterationInstance, StateInfo, Timeline, WaitBucket } from './timeline';
import { runTokenTask, TOKEN_PLACEHOLDER, tokenTaskProblems, WAIT_FOR_TOKEN_RESOURCE } from './token-task';
import { TokenRegistry } from './tokens';
import { HANDLER_DRIFT_MS, installVirtualDate, RealDate, withVirtualNow } from './virtual-date';
import { ACCOUNT_ID, REGION, World, WorldOptions } from './world';

// aws-local-stepfunctions, with its intrinsic functions corrected (local-stepfunctions.ts).
const { ExecutionError, ExecutionTimeoutError, StateMachine } = localStepFunctions;

export type TaskHandler = (input: any) => unknown;

export interface SimulatorOptions {
  /** The synthesized template (`Template.fromStack(stack).toJSON()` or the cdk.out template file's JSON). */
  readonly template: CfnTemplate;
  /** Logical id of the state machine, when the template has several. */
  readonly stateMachine?: string;
  /** Synth output directory: Lambda code is found through each function's `aws:asset:path` metadata. */
  readonly assetDir?: string;
  /** Lambda logical id -> directory with the bundled handler (index.js) or the file. Wins over asset metadata. */
  readonly lambdaCode?: Record<string, string>;
  /** Values for tokens the resolver cannot work out. */
  readonly tokenOverrides?: TokenOverrides;
  readonly world?: WorldOptions;
  /** Extra environment variables for the handlers. */
  readonly env?: Record<string, string>;
  /**
   * Handlers for Task states the simulator does not run itself, keyed by state name or by Resource. For a
   * `.waitForTaskToken` state the handler stands in for the Lambda only: it gets the Payload (with the token), its
   * return value is ignored, and the simulator still issues the token and waits for it.
   */
  readonly taskHandlers?: Record<string, TaskHandler>;
  /** Logical id of the audit table (default: the table keyed by SM_Execution_ID, else the only table). */
  readonly auditTable?: string;
  /** Validate the definition with asl-validator (default true). */
  readonly validate?: boolean;
  /** The instance a Map iteration works on, from the iteration's input (default `$.instance.instanceId`, else `$.instanceId`). */
  readonly iterationInstance?: IterationInstance;
}

export interface RunOptions {
  /** Execution name (default `execution-<n>`). Names cannot be reused, as in Step Functions. */
  readonly executionName?: string;
  /** Keep every event of the run in the result (default false). */
  readonly keepEvents?: boolean;
}

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export type { WaitBucket } from './timeline';

export interface RunStats {
  /** States entered (including inside Map iterations and Parallel branches). */
  stateTransitions: number;
  /** Invocations per function name. */
  lambdaInvocations: Record<string, number>;
  /** Calls to the fakes per `service:action` (including DynamoDB calls of handlers and service integrations). */
  apiCalls: Record<string, number>;
  /** Largest JSON of a state's input or output, in bytes (Step Functions' limit: 262144). */
  largestStatePayloadBytes: number;
  largestStatePayloadState: string;
  /**
   * The nominal duration of the run on the longest path: the top level's waits plus, for every Map / Parallel
   * state of the top level, the largest of its iterations' (branches') summed waits. Retry back-off included.
   */
  virtualSeconds: number;
  /** The top level's waits. */
  topLevel: WaitBucket;
  /** Per top-level Map / Parallel state (`Name`, or `Name#2` when it ran again), per iteration index / branch. */
  iterations: Record<string, WaitBucket[]>;
  retries: number;
  /** The state machine's TimeoutSeconds, if any, and whether virtualSeconds exceeds it. */
  timeoutSeconds?: number;
  exceedsTimeout: boolean;
  /** Things the simulator could not evaluate exactly (e.g. a SecondsPath it could not read). */
  warnings: string[];
  /** What Step Functions Standard bills: states entered plus retries. */
  billedTransitions: number;
  /** History events of the largest execution (the parent, or one Map iteration as a child execution); see history.ts. */
  maxHistoryEvents: number;
  /** History events per execution: `execution` (the parent) and `<Map>[<index>]` (`<Map>#2[...]` for a second run). */
  historyEventsByExecution: Record<string, number>;
  /** History events per HistoryEventType, all executions together. */
  historyEventsByType: Record<string, number>;
  /** State-change events the world emitted during the run. */
  eventsEmitted: number;
  /** Emitted events that matched at least one default-bus rule and reached its target(s). */
  eventsDelivered: number;
  /** Delivered events that matched no rule. */
  eventsUnmatched: number;
  /** Events dropped: by a `lostEvents` fault, or lost by best-effort delivery (events/delivery.ts). */
  eventsLost: number;
  /** Second copies of events delivered (at-least-once delivery), matched by a rule. */
  eventsDuplicated: number;
  /** Events (and copies) still undelivered when the run ended: not yet due, or emitted after the last token wait. */
  eventsPending: number;
  /** Rule target invocations that threw (each attempt; EventBridge's async Lambda invoke tries 3 times). */
  eventTargetErrors: string[];
  /** Task tokens of this run by final status (`waiting` must be 0). */
  tokens: Record<'issued' | 'succeeded' | 'failed' | 'timedOut' | 'invokeFailed' | 'waiting', number>;
  /** Per instance, from the world's own records. */
  instances: Record<string, InstanceStats>;
}

export interface RunResult {
  readonly status: ExecutionStatus;
  readonly output?: any;
  readonly error?: string;
  readonly cause?: string;
  readonly executionArn: string;
  readonly executionName: string;
  readonly startTime: string;
  readonly stats: RunStats;
  readonly events?: any[];
  /** The run's Map Runs (distributed Maps, see map-run.ts): each child execution's status. */
  readonly mapRuns?: MapRunRecord[];
}

/** A Task failure that is not a Lambda one (service integrations): Step Functions' Error and Cause. */
class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

export { readPath } from './json-path';


const DDB_COMMANDS: Record<string, new (input: any) => any> = {
  putItem: PutItemCommand,
  getItem: GetItemCommand,
  updateItem: UpdateItemCommand,
  deleteItem: DeleteItemCommand,
};

export class Simulator {
  /** Start the fakes and dynalite, create the tables, load the handlers. */
  public static async start(options: SimulatorOptions): Promise<Simulator> {
    const sim = new Simulator(options);
    try {
      await sim.init();
    } catch (e) {
      await sim.stop();
      throw e;
    }
    return sim;
  }

  public readonly world: World;
  public readonly stateMachine: ResolvedStateMachine;
  public readonly functions: Map<string, LambdaFunction>;
  /** Requests that reached the catch-all endpoint (a service the simulator does not fake). */
  public readonly unexpectedCalls: Array<{ method: string; path: string; target?: string; body: string }> = [];
  /** Endpoints of the fakes, by service. */
  public readonly endpoints: Record<string, string> = {};
  /** Requests to the fakes that break the service's API model (api-model.ts), in arrival order: must stay empty. */
  public get modelViolations(): ModelViolation[] {
    return this.servers.flatMap((s) => s.modelViolations);
  }
  /** The Lambda environment the handlers see. */
  public readonly environment: Record<string, string> = {};

  private readonly servers: FakeServer[] = [];
  private dynalite?: Dynalite;
  private ddb?: DynamoDBClient;
  private doc?: DynamoDBDocumentClient;
  private readonly handlers = new Map<string, { fn: LambdaFunction; handler: Handler }>();
  /** Task tokens of `.waitForTaskToken` states, answered through the fake Step Functions endpoint. */
  public readonly tokens = new TokenRegistry();
  /**
   * Chains to kill uncaught at a Task state of a distributed Map's item processor (map-run.ts): each fires once, in the
   * next run; those that did not fire are dropped when that run ends.
   */
  public readonly chainKills: ChainKill[] = [];
  /** The default bus rules of the template. */
  public readonly router: EventRouter;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stateInfo = new Map<string, StateInfo>();
  private readonly savedEnv: Record<string, string | undefined> = {};
  private readonly usedNames = new Set<string>();
  private executionCounter = 0;
  /**
   * The definition (as JSON) that passed asl-validator in an earlier run of this simulator: compiling the validator's
   * JSON schemas takes about a quarter of a second a run, and the definition is the same every run (resolved once, at
   * start). A definition changed since (a test editing it) is validated again.
   */
  private validatedDefinition?: string;
  private readonly auditTableName?: string;
  private stopped = false;

  private constructor(private readonly options: SimulatorOptions) {
    installVirtualDate();
    this.world = new World(options.world);
    this.stateMachine = resolveStateMachine(options.template, options.stateMachine, { overrides: options.tokenOverrides });
    this.functions = describeFunctions(options.template, {
      assetDir: options.assetDir,
      lambdaCode: options.lambdaCode,
      resolve: { overrides: options.tokenOverrides },
    });
    walkStates(this.stateMachine.definition, (name, state, parents) => {
      if (this.stateInfo.has(name)) throw new Error(`state name ${name} is used twice; Step Functions requires unique names`);
      // The execution a state runs in: the innermost distributed Map around it (each of its iterations is a child
      // execution, map-run.ts), else the outermost Map / Parallel (inline iterations run in their enclosing one).
      const outer = [...parents].reverse().find((p) => isDistributedMap(p.state)) ?? parents[0];
      this.stateInfo.set(name, {
        state,
        container: outer ? { name: outer.name, kind: outer.state.Type, branch: outer.branch } : undefined,
      });
    });
    this.auditTableName = this.findAuditTable();
    const names = new Set([...this.functions.values()].map((f) => f.functionName));
    this.router = EventRouter.fromTemplate(options.template, (arn) => {
      const m = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)$/.exec(arn);
      return m && names.has(m[1]) ? m[1] : undefined;
    }, { overrides: options.tokenOverrides });
  }

  private findAuditTable(): string | undefined {
    const t = this.options.template;
    if (this.options.auditTable) return tableName(this.options.auditTable, t, { overrides: this.options.tokenOverrides });
    const tables = resourcesOfType(t, 'AWS::DynamoDB::Table');
    const keyed = tables.find((id) => (t.Resources![id].Properties?.KeySchema ?? [])
      .some((k: any) => k.KeyType === 'HASH' && k.AttributeName === 'SM_Execution_ID'));
    const id = keyed ?? (tables.length === 1 ? tables[0] : undefined);
    return id ? tableName(id, t, { overrides: this.options.tokenOverrides }) : undefined;
  }

  private async init(): Promise<void> {
    const ec2 = await FakeServer.start('ec2', ec2Handler(this.world));
    this.servers.push(ec2);
    const ssm = await FakeServer.start('ssm', ssmHandler(this.world));
    this.servers.push(ssm);
    const backup = await FakeServer.start('backup', backupHandler(this.world));
    this.servers.push(backup);
    this.dynalite = await Dynalite.start();
    const dynamodb = await FakeServer.start('dynamodb', dynamodbHandler(this.world, this.dynalite));
    this.servers.push(dynamodb);
    const sfn = await FakeServer.start('sfn', sfnHandler(this.world, this.tokens));
    this.servers.push(sfn);
    const other = await FakeServer.start('catch-all', (req) => {
      this.unexpectedCalls.push({ method: req.method, path: req.path, target: req.headers['x-amz-target'] as string | undefined, body: req.body.slice(0, 2000) });
      return {
        status: 400,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'UnrecognizedClientException' },
        body: JSON.stringify({ __type: 'UnrecognizedClientException', message: 'This service is not simulated (no real AWS is reachable from the simulator)' }),
      };
    });
    this.servers.push(other);
    Object.assign(this.endpoints, { ec2: ec2.url, ssm: ssm.url, backup: backup.url, dynamodb: dynamodb.url, sfn: sfn.url, other: other.url });

    const credentials = { accessKeyId: 'AKIASIMULATOR0000000', secretAccessKey: 'simulator-secret' };
    this.ddb = new DynamoDBClient({ endpoint: dynamodb.url, region: REGION, credentials, maxAttempts: 1 });
    this.doc = DynamoDBDocumentClient.from(this.ddb);
    await createTables(
      new DynamoDBClient({ endpoint: this.dynalite.url, region: REGION, credentials }),
      this.options.template,
    );

    // The Lambda environment: every function's variables, then the AWS ones (which win).
    Object.assign(this.environment, unionEnvironment(this.functions.values()), this.options.env, {
      AWS_ENDPOINT_URL: other.url,
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_ENDPOINT_URL_BACKUP: backup.url,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
      AWS_ENDPOINT_URL_SFN: sfn.url,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_MAX_ATTEMPTS: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    const unset = ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_RETRY_MODE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
    for (const k of [...Object.keys(this.environment), ...unset]) {
      if (!(k in this.savedEnv)) this.savedEnv[k] = realProcess.env[k];
    }
    for (const k of unset) delete realProcess.env[k];
    Object.assign(realProcess.env, this.environment);

    for (const fn of this.functions.values()) {
      const handler = loadHandler(fn);
      this.handlers.set(fn.functionName, { fn, handler });
    }
    this.buildTaskHandlers(); // fails early when a Task has no handler
    await statesTimeoutError(); // learn the interpreter's States.Timeout class once
  }

  /** Stop the servers and restore the environment. */
  public async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const [k, v] of Object.entries(this.savedEnv)) {
      if (v === undefined) delete realProcess.env[k];
      else realProcess.env[k] = v;
    }
    this.ddb?.destroy();
    await Promise.all(this.servers.map((s) => s.stop()));
    await this.dynalite?.stop();
  }

  // ---------------------------------------------------------------------------------------------- Task handlers

  private lambdaByNameOrArn(nameOrArn: string): { fn: LambdaFunction; handler: Handler } | undefined {
    const m = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)(?::.+)?$/.exec(nameOrArn);
    const name = m ? m[1] : nameOrArn.split(':')[0];
    return this.handlers.get(name);
  }

  private async invokeLambda(
    target: { fn: LambdaFunction; handler: Handler }, event: unknown, stats: RunStats, executionName: string, instanceId?: string,
  ): Promise<unknown> {
    const name = target.fn.functionName;
    stats.lambdaInvocations[name] = (stats.lambdaInvocations[name] ?? 0) + 1;
    const payload = JSON.parse(JSON.stringify(event ?? null));
    const deadline = RealDate.now() + target.fn.timeoutSeconds * 1000;
    const context = {
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: lambdaArn(name),
      memoryLimitInMB: '128',
      awsRequestId: `${executionName}-${stats.lambdaInvocations[name]}`,
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'simulator',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - RealDate.now()),
    };
    // The handler reads the clock of the instance it works on (virtual-date.ts).
    const worksOn = instanceId ?? instanceOfPayload(payload);
    let result: unknown;
    try {
      const at = this.world.clock.dateAt(this.world.clock.now(worksOn));
      result = await withVirtualNow(at, async () => target.handler(payload, context), HANDLER_DRIFT_MS);
    } catch (e) {
      throw toTaskError(e);
    }
    return result === undefined ? null : JSON.parse(JSON.stringify(result));
  }

  private async dynamoTask(action: string, params: any): Promise<unknown> {
    const Cmd = DDB_COMMANDS[action];
    try {
      const out = await this.ddb!.send(new Cmd(params));
      const { $metadata, ...rest } = out as unknown as Record<string, unknown>;
      return JSON.parse(JSON.stringify({
        ...rest,
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: (($metadata as any)?.requestId as string) ?? '' },
      }));
    } catch (e) {
      const err = e as Error;
      throw new TaskFailure(`DynamoDB.${err.name === 'Error' ? 'AmazonDynamoDBException' : err.name}`, err.message);
    }
  }

  /**
   * Deliver the events that are due (events/delivery.ts) through the default bus rules, until none is left: those of
   * the instance a token wait is about (its clock is the one that moved), or of every instance; a duplicate due with
   * its original is delivered at the same moment (two concurrent invocations).
   */
  private async deliverEvents(stats: RunStats, executionName: string, instanceId?: string): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const due = this.world.takeDueEvents(instanceId);
      if (due.length === 0) break;
      for (let i = 0; i < due.length; i++) {
        const ev = due[i];
        const twin = due[i + 1]?.duplicate && due[i + 1].seq === ev.seq && due[i + 1].deliverAt === ev.deliverAt ? due[++i] : undefined;
        await Promise.all([ev, ...twin ? [twin] : []].map((e) => this.deliverEvent(e, stats, executionName)));
      }
    }
  }

  private async deliverEvent(ev: EmittedEvent, stats: RunStats, executionName: string): Promise<void> {
    const retry = ev.retry;
    const deliveries = this.router.route(ev.envelope).filter((d) => !retry || (d.rule === retry.rule && d.targetId === retry.targetId));
    if (retry) {
      // A retry of one target: counted when the event was first delivered.
    } else if (ev.duplicate) {
      if (deliveries.length > 0) stats.eventsDuplicated++;
    } else if (deliveries.length === 0) {
      stats.eventsUnmatched++;
    } else {
      stats.eventsDelivered++;
    }
    const attempt = retry?.attempt ?? 1;
    for (const d of deliveries) {
      const target = this.lambdaByNameOrArn(d.functionName)!;
      try {
        await this.invokeLambda(target, d.event, stats, executionName, ev.instanceId);
      } catch (e) {
        stats.eventTargetErrors.push(`${d.rule} -> ${d.functionName} (attempt ${attempt}): ${(e as Error).name}: ${(e as Error).message}`);
        // EventBridge invokes Lambda asynchronously: Lambda runs a failed event twice more, 1 then 2 minutes later.
        const at = this.world.delivery.retryAt(Math.max(ev.deliverAt, this.world.now(ev.instanceId)), attempt);
        if (at !== undefined) this.world.requeue({ ...ev, deliverAt: at, retry: { rule: d.rule, targetId: d.targetId, attempt: attempt + 1 } });
      }
    }
  }

  /** Track a handler's promise, so that a run ends only when every handler it started has ended. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** One local handler per Task state (by state name, as aws-local-stepfunctions wants them). */
  private buildTaskHandlers(stats?: RunStats, executionName = '', executionArn = '', timeline?: Timeline): Record<string, (input: any) => Promise<unknown>> {
    const out: Record<string, (input: any) => Promise<unknown>> = {};
    const missing: string[] = [];
    const extra = this.options.taskHandlers ?? {};
    for (const [name, info] of this.stateInfo) {
      if (info.state.Type !== 'Task') continue;
      const resource = String(info.state.Resource);
      const custom = extra[name] ?? extra[resource];
      if (custom && resource !== WAIT_FOR_TOKEN_RESOURCE) {
        out[name] = async (input) => JSON.parse(JSON.stringify((await custom(input)) ?? null));
        continue;
      }
      const direct = this.lambdaByNameOrArn(resource);
      if (direct && resource.startsWith('arn:aws:lambda:')) {
        out[name] = (input) => this.invokeLambda(direct, input, stats!, executionName);
        continue;
      }
      if (resource === 'arn:aws:states:::lambda:invoke') {
        const fnParam = info.state.Parameters?.FunctionName;
        if (typeof fnParam === 'string' && !this.lambdaByNameOrArn(fnParam)) {
          missing.push(`${name}: lambda:invoke of ${fnParam}, which is not a loaded function`);
          continue;
        }
        out[name] = async (input) => {
          const target = this.lambdaByNameOrArn(String(input?.FunctionName ?? ''));
          if (!target) throw new TaskFailure('Lambda.ResourceNotFoundException', `Function not found: ${input?.FunctionName}`);
          const payload = await this.invokeLambda(target, input?.Payload ?? {}, stats!, executionName);
          return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200, SdkHttpMetadata: { HttpStatusCode: 200 } };
        };
        continue;
      }
      if (resource === WAIT_FOR_TOKEN_RESOURCE) {
        const fnParam = info.state.Parameters?.FunctionName;
        if (typeof fnParam === 'string' && !this.lambdaByNameOrArn(fnParam)) {
          missing.push(`${name}: lambda:invoke.waitForTaskToken of ${fnParam}, which is not a loaded function`);
          continue;
        }
        const problems = tokenTaskProblems(name, info.state);
        if (problems.length > 0) {
          missing.push(...problems);
          continue;
        }
        const deps = {
          world: this.world,
          tokens: this.tokens,
          invoke: async (fn: string, payload: unknown) => {
            // A custom handler of a token state stands in for its Lambda: it gets the Payload (token included).
            if (custom) return custom(payload);
            const target = this.lambdaByNameOrArn(fn);
            if (!target) throw new TaskFailure('Lambda.ResourceNotFoundException', `Function not found: ${fn}`);
            return this.invokeLambda(target, payload, stats!, executionName);
          },
          deliver: (instanceId?: string) => this.deliverEvents(stats!, executionName, instanceId),
          waited: (instanceId: string | undefined, seconds: number) => timeline!.taskWaited(instanceId, seconds),
          timeoutError: () => new (statesTimeoutErrorClass!)(),
        };
        const timeoutSeconds = typeof info.state.TimeoutSeconds === 'number' ? info.state.TimeoutSeconds : undefined;
        out[name] = (input) => runTokenTask(deps, { executionArn, stateName: name, timeoutSeconds }, input);
        continue;
      }
      const ddb = /^arn:aws:states:::dynamodb:(putItem|getItem|updateItem|deleteItem)$/.exec(resource);
      if (ddb) {
        out[name] = (input) => this.dynamoTask(ddb[1], input);
        continue;
      }
      missing.push(`${name}: ${resource}`);
    }
    if (missing.length > 0) {
      throw new Error(`The simulator has no handler for these Task states (nothing may reach real AWS); give them in taskHandlers:\n- ${missing.join('\n- ')}`);
    }
    for (const [name, h] of Object.entries(out)) out[name] = (input) => this.track(h(input));
    return out;
  }

  // ---------------------------------------------------------------------------------------------- running

  /** Run one execution to its end. */
  public async run(input: unknown = {}, options: RunOptions = {}): Promise<RunResult> {
    if (this.stopped) throw new Error('simulator stopped');
    const executionName = options.executionName ?? `execution-${++this.executionCounter}`;
    if (this.usedNames.has(executionName)) {
      throw new Error(`ExecutionAlreadyExists: an execution named ${executionName} already ran on this simulator`);
    }
    this.usedNames.add(executionName);
    const sm = this.stateMachine;
    const executionArn = `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:${sm.name}:${executionName}`;
    const def = sm.definition;
    const stats: RunStats = {
      stateTransitions: 0,
      lambdaInvocations: {},
      apiCalls: {},
      largestStatePayloadBytes: 0,
      largestStatePayloadState: '',
      virtualSeconds: 0,
      topLevel: emptyBucket(),
      iterations: {},
      retries: 0,
      timeoutSeconds: typeof def.TimeoutSeconds === 'number' ? def.TimeoutSeconds : undefined,
      exceedsTimeout: false,
      warnings: [],
      billedTransitions: 0,
      maxHistoryEvents: 0,
      historyEventsByExecution: {},
      historyEventsByType: {},
      eventsEmitted: 0,
      eventsDelivered: 0,
      eventsUnmatched: 0,
      eventsLost: 0,
      eventsDuplicated: 0,
      eventsPending: 0,
      eventTargetErrors: [],
      tokens: { issued: 0, succeeded: 0, failed: 0, timedOut: 0, invokeFailed: 0, waiting: 0 },
      instances: {},
    };
    this.world.takeEvents(); // events of earlier runs are not this run's
    const emittedBefore = this.world.eventsEmitted;
    const lostBefore = this.world.lostEvents.length;
    const seqBefore = this.world.callCount;
    const waitOverrides: Record<string, number> = {};
    const retryOverrides: Record<string, number> = {};
    for (const [name, info] of this.stateInfo) {
      if (info.state.Type === 'Wait') waitOverrides[name] = 0;
      if (info.state.Retry) retryOverrides[name] = 0;
    }
    // The interpreter would enforce TimeoutSeconds in wall-clock time; the simulator checks it in virtual time.
    const { TimeoutSeconds: _timeout, ...runnable } = def as AslDefinition & { TimeoutSeconds?: number };
    // Distributed Maps run as Map Runs of child executions (map-run.ts), not inline.
    const { definition: withMapRuns, maps } = withMapRunTasks(withoutWallClockTaskTimeouts(runnable as AslDefinition));
    // (Compared before asl-validator sees it: the validator fills in each state's QueryLanguage.)
    const definitionJson = JSON.stringify(withMapRuns);
    const validate = this.options.validate !== false && definitionJson !== this.validatedDefinition;
    const machine = new StateMachine(withMapRuns as any, {
      validationOptions: validate ? { checkArn: true, checkPaths: true } : { noValidate: true },
    });
    if (validate) this.validatedDefinition = definitionJson;
    const startTime = this.world.clock.dateAt(this.world.clock.runSeconds).toISOString();
    const timeline = new Timeline(this.stateInfo, stats, this.world.clock, this.options.iterationInstance);
    const context = {
      Execution: {
        Id: executionArn,
        Name: executionName,
        RoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/${sm.name}Role`,
        StartTime: startTime,
        RedriveCount: 0,
      },
      StateMachine: { Id: sm.arn, Name: sm.name },
      Task: { Token: TOKEN_PLACEHOLDER },
    };
    const handlers = this.buildTaskHandlers(stats, executionName, executionArn, timeline);
    const mapRuns: MapRunRecord[] = [];
    for (const [name, mapState] of Object.entries(maps)) {
      handlers[name] = (mapInput) => this.track(runMapRun({
        StateMachine,
        handlers,
        waitTimeOverrides: waitOverrides,
        retryIntervalOverrides: retryOverrides,
        context,
        executionArn,
        stateMachineName: sm.name,
        onEvent: (ev) => timeline.onEvent(ev),
        kills: this.chainKills,
        stopExecution: () => stopParent(),
        records: mapRuns,
      }, name, mapState, mapInput));
    }
    // Issue 15: a ChainKill with `stopExecution` stops the run (StopExecution): the parent ends ABORTED.
    let stopParent: () => void = () => undefined;
    // The library stamps `$$.Execution.StartTime` with its own `new Date()`: on the run's virtual clock.
    const execution = withVirtualNow(new Date(startTime), () => machine.run(input as any, {
      overrides: {
        taskResourceLocalHandlers: handlers as any,
        waitTimeOverrides: waitOverrides,
        retryIntervalOverrides: retryOverrides,
      },
      context,
    }));
    stopParent = () => execution.abort();
    const events: any[] = [];
    const consumer = (async () => {
      for await (const ev of execution.eventLogs) {
        if (options.keepEvents) events.push(ev);
        timeline.onEvent(ev);
      }
    })();
    let status: ExecutionStatus = 'SUCCEEDED';
    let output: unknown;
    let error: string | undefined;
    let cause: string | undefined;
    try {
      output = await execution.result;
    } catch (e) {
      if (e instanceof ExecutionError) {
        const c = (e as Error & { cause?: any }).cause;
        status = 'FAILED';
        error = c?.name ?? 'States.Runtime';
        cause = c?.message;
      } else if (e instanceof ExecutionTimeoutError) {
        status = 'TIMED_OUT';
      } else if ((e as Error).name === 'ExecutionAbortedError') {
        status = 'ABORTED';
      } else {
        status = 'FAILED';
        error = (e as Error).name;
        cause = (e as Error).message;
      }
    }
    await consumer;
    // Handlers of aborted iterations may still run: the run ends when they have.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    timeline.finish();
    this.chainKills.splice(0); // kills that did not fire are this run's only
    stats.billedTransitions = stats.stateTransitions + stats.retries;
    stats.historyEventsByExecution = { ...timeline.history.byExecution };
    stats.historyEventsByType = { ...timeline.history.byType };
    stats.maxHistoryEvents = timeline.history.max;
    stats.eventsEmitted = this.world.eventsEmitted - emittedBefore;
    stats.eventsLost = this.world.lostEvents.length - lostBefore;
    stats.eventsPending = this.world.outbox.length;
    for (const t of this.tokens.all(executionArn)) {
      stats.tokens.issued++;
      stats.tokens[t.status]++;
    }
    stats.instances = instanceStats(this.world);
    stats.apiCalls = this.world.callCounts(seqBefore);
    if (stats.timeoutSeconds !== undefined && stats.virtualSeconds > stats.timeoutSeconds) {
      stats.exceedsTimeout = true;
    }
    return {
      status,
      ...(status === 'SUCCEEDED' ? { output } : { error, cause }),
      executionArn,
      executionName,
      startTime,
      stats,
      mapRuns,
      ...(options.keepEvents ? { events } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------------- reading DynamoDB

  private requireAuditTable(): string {
    if (!this.auditTableName) throw new Error('no audit table: give auditTable in the options');
    return this.auditTableName;
  }

  /** The audit record of an execution (table keyed by SM_Execution_ID only). */
  public async getAuditItem(executionArn: string): Promise<Record<string, any> | undefined> {
    const table = this.requireAuditTable();
    const res = await this.doc!.send(new GetCommand({ TableName: table, Key: { SM_Execution_ID: executionArn } }))
      .catch((e: Error) => {
        if (e.name === 'ValidationException') {
          throw new Error(`${table} has a sort key: use getAuditItems(executionArn) (${e.message})`);
        }
        throw e;
      });
    return res.Item;
  }

  /** Every item of an execution in the audit table (for a table with a sort key). */
  public async getAuditItems(executionArn: string): Promise<Array<Record<string, any>>> {
    const items: Array<Record<string, any>> = [];
    let key: Record<string, any> | undefined;
    do {
      const res = await this.doc!.send(new QueryCommand({
        TableName: this.requireAuditTable(),
        KeyConditionExpression: 'SM_Execution_ID = :id',
        ExpressionAttributeValues: { ':id': executionArn },
        ExclusiveStartKey: key,
      }));
      items.push(...res.Items ?? []);
      key = res.LastEvaluatedKey;
    } while (key);
    return items;
  }

  /** Every item of a table (default: the audit table), unmarshalled. */
  public async scanTable(tableLogicalIdOrName?: string): Promise<Array<Record<string, any>>> {
    const t = this.options.template;
    const table = tableLogicalIdOrName === undefined ? this.requireAuditTable()
      : t.Resources?.[tableLogicalIdOrName] ? tableName(tableLogicalIdOrName, t, { overrides: this.options.tokenOverrides })
        : tableLogicalIdOrName;
    const items: Array<Record<string, any>> = [];
    let key: Record<string, any> | undefined;
    do {
      const res = await this.doc!.send(new ScanCommand({ TableName: table, ExclusiveStartKey: key }));
      items.push(...res.Items ?? []);
      key = res.LastEvaluatedKey;
    } while (key);
    return items;
  }
}

/**
 * The definition with every Task's TimeoutSeconds raised to the longest timer node allows, for the interpreter, which
 * would enforce it in wall-clock time (and gives a Task without one 60 s; Step Functions gives none). A token task's
 * own value is enforced in virtual time (token-task.ts). A plain Task's handler takes no virtual time here (the
 * stand-ins answer at once), so its TimeoutSeconds cannot expire, as it does not on AWS for a handler that ends
 * within its function's timeout. In wall-clock time, a whole-fleet simulation (thousands of chains' handlers in one
 * process, their requests queued behind shared sockets) timed out Tasks that would answer in milliseconds on AWS.
 */
export function withoutWallClockTaskTimeouts(def: AslDefinition): AslDefinition {
  const copy = JSON.parse(JSON.stringify(def)) as AslDefinition;
  walkStates(copy, (name, state) => {
    if (state.Type !== 'Task') return;
    if ('TimeoutSecondsPath' in state) throw new Error(`Task ${name} uses TimeoutSecondsPath, which the simulator does not enforce`);
    state.TimeoutSeconds = LONGEST_WALL_CLOCK_TIMEOUT_SECONDS;
  });
  return copy;
}

// The interpreter's States.Timeout error class is not exported; a Retry / Catch on States.TaskFailed must not match
// it, which the interpreter decides by class. One 1 ms task timeout at start-up gives the class.
let statesTimeoutErrorClass: (new () => Error) | undefined;
async function statesTimeoutError(): Promise<void> {
  if (statesTimeoutErrorClass) return;
  const probe = new StateMachine({
    StartAt: 'Probe',
    States: { Probe: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:probe', TimeoutSeconds: 0.001, End: true } },
  } as any, { validationOptions: { noValidate: true } });
  const run = probe.run({}, { overrides: { taskResourceLocalHandlers: { Probe: () => new Promise((r) => setTimeout(() => r(null), 20)) } } });
  try {
    await run.result;
  } catch (e) {
    const cause = (e as { cause?: Error }).cause;
    if (cause?.name === 'States.Timeout') statesTimeoutErrorClass = cause.constructor as new () => Error;
  }
  if (!statesTimeoutErrorClass) throw new Error('could not learn the interpreter\'s States.Timeout error class');
}

/** The instance a handler's payload is about (`instanceId`, or `instance.instanceId`); undefined for run-level ones. */
function instanceOfPayload(payload: any): string | undefined {
  if (payload && typeof payload === 'object') {
    if (typeof payload.instanceId === 'string') return payload.instanceId;
    if (payload.instance && typeof payload.instance.instanceId === 'string') return payload.instance.instanceId;
  }
  return undefined;
}
