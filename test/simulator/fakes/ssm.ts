/**
 * SSM over JSON 1.1 (`X-Amz-Target: AmazonSSM.<Action>`): SendCommand, GetCommandInvocation,
 * ListCommandInvocations, CancelCommand, DescribeInstanceInformation.
 */
import { FakeHandler, FakeRequest, FakeResponse } from './http';
import { runOnInstanceShell } from './instance-shell';
import {
  agentPluginOutput, COMMAND_DOCUMENTS, CommandDocument, DocumentStep, LOG_GROUP_NAME_PATTERN, parameterProblems, resolveDocument,
} from './ssm-documents';
import { checkThrottle } from './throttling';
import { ACCOUNT_ID, CommandInvocation, FakeApiError, World } from '../world';

const JSON_TYPE = 'application/x-amz-json-1.1';

function json(body: unknown): FakeResponse {
  return { status: 200, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) };
}

export function jsonErrorResponse(code: string, message: string, status: number): FakeResponse {
  return {
    status,
    headers: { 'content-type': JSON_TYPE, 'x-amzn-errortype': code },
    body: JSON.stringify({ __type: code, message }),
  };
}

const epoch = (d: Date) => d.getTime() / 1000;

function pageToken(pos: number): string {
  return Buffer.from(`pos:${pos}`).toString('base64');
}

function readToken(token: unknown): number {
  if (token === undefined || token === null || token === '') return 0;
  const m = /^pos:(\d+)$/.exec(Buffer.from(String(token), 'base64').toString('utf8'));
  if (!m) throw new FakeApiError({ code: 'InvalidNextToken', message: 'The specified token is not valid.' });
  return Number(m[1]);
}

function invocationJson(world: World, inv: CommandInvocation, details: boolean): Record<string, unknown> {
  const base: Record<string, unknown> = {
    CommandId: inv.commandId,
    InstanceId: inv.instanceId,
    InstanceName: '',
    Comment: inv.comment,
    DocumentName: inv.documentName,
    DocumentVersion: inv.documentVersion ?? '$DEFAULT',
    RequestedDateTime: epoch(inv.requestedAt),
    Status: inv.status,
    StatusDetails: inv.statusDetails,
    ServiceRole: '',
    StandardOutputUrl: '',
    StandardErrorUrl: '',
    CloudWatchOutputConfig: cloudWatchOutputOf(inv),
  };
  if (details) {
    base.CommandPlugins = pluginsOf(inv).map((p) => ({
      Name: p.name,
      Status: p.status,
      StatusDetails: p.statusDetails,
      ResponseCode: p.responseCode,
      // "The time the plugin started running" / "stopped running" (API reference of CommandPlugin), on the virtual
      // clock: the start when SSM received the command (no delivery lag modelled), the end once the step is final.
      ...(inv.status === 'Pending' ? {} : { ResponseStartDateTime: epoch(inv.requestedAt) }),
      ...(inv.endedAt !== undefined && TERMINAL.includes(p.status) ? { ResponseFinishDateTime: epoch(world.clock.dateAt(inv.endedAt)) } : {}),
      // CommandPlugin.Output: at most 2500 characters (API reference), built by the agent (agentPluginOutput).
      Output: p.output,
      ...(inv.outputS3BucketName ? {
        OutputS3BucketName: inv.outputS3BucketName,
        OutputS3KeyPrefix: `${inv.outputS3KeyPrefix ?? ''}/${inv.commandId}/${inv.instanceId}/${p.name}`,
        OutputS3Region: 'us-east-1',
      } : {}),
    }));
  }
  return base;
}

/** GetCommandInvocation's StandardOutputContent: "The first 24,000 characters written by the plugin to stdout". */
const CONTENT_MAX = 24000;
/** GetCommandInvocation's StandardErrorContent: "The first 8,000 characters written by the plugin to stderr". */
const ERROR_CONTENT_MAX = 8000;

/** The CloudWatchOutputConfig an invocation echoes: as sent, or disabled. */
function cloudWatchOutputOf(inv: CommandInvocation): { CloudWatchLogGroupName: string; CloudWatchOutputEnabled: boolean } {
  const c = inv.cloudWatchOutputConfig;
  return { CloudWatchLogGroupName: c?.CloudWatchLogGroupName ?? '', CloudWatchOutputEnabled: c?.CloudWatchOutputEnabled === true };
}

/** The document each invocation runs (a built-in one, or one registered in the world). */
const invocationDocuments = new WeakMap<CommandInvocation, CommandDocument>();

const TERMINAL = ['Success', 'Failed', 'TimedOut', 'Cancelled'];

function output(inv: CommandInvocation): { stdout: string; stderr: string } {
  const terminal = TERMINAL.includes(inv.status);
  if (!terminal) return { stdout: '', stderr: '' };
  const b = inv.behaviour;
  return {
    stdout: b.stdout ?? (inv.status === 'Success' ? `${inv.phase} script done` : ''),
    stderr: b.stderr ?? (inv.status === 'Failed' ? `${inv.phase} script failed: exit status ${inv.responseCode}` : ''),
  };
}

/** One step's result in an invocation, as CommandPlugins and GetCommandInvocation(PluginName) report it. */
interface StepResult {
  readonly name: string;
  readonly status: string;
  readonly statusDetails: string;
  readonly responseCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout, then stderr after the agent's separator (what CommandPlugin.Output holds). */
  readonly output: string;
}

function documentOf(inv: CommandInvocation): CommandDocument | undefined {
  return invocationDocuments.get(inv) ?? COMMAND_DOCUMENTS[inv.documentName];
}

/**
 * Issue 15: whether the agent skips every step of the invocation's document (their platform preconditions do not hold
 * on the instance): SSM then reports the invocation Success having run nothing.
 */
export function everyStepSkipped(inv: CommandInvocation): boolean {
  const steps = documentOf(inv)?.steps ?? [];
  return steps.length > 0 && steps.every((st) => st.platform !== undefined && st.platform !== inv.platform);
}

function stepResult(name: string, status: string, statusDetails: string, responseCode: number, stdout = '', stderr = ''): StepResult {
  return { name, status, statusDetails, responseCode, stdout, stderr, output: agentPluginOutput(stdout, stderr) };
}

/**
 * The steps of an invocation's document, each with its result: a step whose platform precondition does not hold is
 * skipped (reported Success with the agent's "skipped" message, as the CommandPlugin status has no Skipped value); the
 * download step fails when the script cannot be fetched; the script step carries the invocation's outcome. An
 * invocation never delivered to the agent has no step results.
 */
function pluginsOf(inv: CommandInvocation): StepResult[] {
  const doc = documentOf(inv);
  if (!doc || inv.agentAtSend !== 'Online') return [];
  const b = inv.behaviour;
  const terminal = TERMINAL.includes(inv.status);
  const started = inv.status !== 'Pending';
  return doc.steps.map((step: DocumentStep) => {
    if (!started) return stepResult(step.name, 'Pending', 'Pending', -1);
    if (step.platform && step.platform !== inv.platform) {
      return stepResult(step.name, 'Success', 'Success', 0,
        `Step execution skipped due to unsatisfied preconditions: '"StringEquals": [platformType, ${step.platform}]'. Step name: ${step.name}`);
    }
    if (step.downloads) {
      if (inv.cancelRequested && !terminal) return stepResult(step.name, 'InProgress', 'InProgress', -1);
      return b.downloadError !== undefined
        ? stepResult(step.name, 'Failed', 'Failed', 1, '', b.downloadError)
        : stepResult(step.name, 'Success', 'Success', 0, `Content downloaded to ${inv.commandId}/downloads`);
    }
    if (!terminal) return stepResult(step.name, inv.status, inv.statusDetails, -1);
    const out = output(inv);
    return stepResult(step.name, inv.status, inv.statusDetails, inv.responseCode, out.stdout, out.stderr);
  });
}

/**
 * An InvokedAfter / InvokedBefore value. The API reference documents only the form of its example,
 * `2024-07-07T00:00:00Z`; the stand-in refuses any other (the worst the documentation allows).
 */
function filterTimestamp(f: { key: string; value: string }): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(String(f.value))) {
    throw new FakeApiError({ code: 'InvalidFilterValue', message: `${f.key} ${JSON.stringify(f.value)}: give a timestamp such as 2024-07-07T00:00:00Z` });
  }
  return Date.parse(f.value);
}

export function ssmHandler(world: World): FakeHandler {
  let commandCounter = 0;

  const actions: Record<string, (p: any) => FakeResponse> = {
    SendCommand(p) {
      const ids: string[] = p.InstanceIds ?? [];
      if (p.Targets) throw new FakeApiError({ code: 'InvalidParameters', message: 'Targets are not supported by the fake; use InstanceIds' });
      if (!p.DocumentName) throw new FakeApiError({ code: 'ValidationException', message: 'DocumentName is required' });
      // AWS's documents, the account's own and those shared with it (by ARN only): ssm-documents.ts resolveDocument.
      const resolved = resolveDocument(world, ACCOUNT_ID, String(p.DocumentName), p.DocumentVersion);
      if ('code' in resolved) throw new FakeApiError(resolved);
      const doc = resolved;
      const cw = p.CloudWatchOutputConfig;
      if (cw !== undefined) {
        // The model bounds the group name (1..512); CloudWatch Logs names take [.-_/#A-Za-z0-9] only. What SSM answers
        // for another name is not documented: the stand-in refuses it (worst case).
        if (typeof cw !== 'object' || cw === null || (cw.CloudWatchOutputEnabled !== undefined && typeof cw.CloudWatchOutputEnabled !== 'boolean')) {
          throw new FakeApiError({ code: 'ValidationException', message: 'CloudWatchOutputConfig is malformed' });
        }
        if (cw.CloudWatchLogGroupName !== undefined && !LOG_GROUP_NAME_PATTERN.test(String(cw.CloudWatchLogGroupName))) {
          throw new FakeApiError({ code: 'InvalidParameters', message: `CloudWatchLogGroupName ${JSON.stringify(cw.CloudWatchLogGroupName)} is not a log group name` });
        }
      }
      // SendCommand checks the parameters against the document's definitions (allowedPattern, allowedValues...).
      const problems = parameterProblems(doc, p.Parameters ?? {});
      if (problems.length > 0) throw new FakeApiError({ code: 'InvalidParameters', message: problems.join('; ') });
      if (ids.length === 0 || ids.length > 50) {
        throw new FakeApiError({ code: 'ValidationException', message: 'InstanceIds must hold 1 to 50 instance ids' });
      }
      const missing = ids.filter((id) => !world.instances.has(id));
      if (missing.length > 0) throw new FakeApiError({ code: 'InvalidInstanceId', message: `Instances [${missing.join(', ')}] not in a valid state` });
      for (const id of ids) {
        if (world.pingStatus(world.instances.get(id)!, false) === undefined) {
          throw new FakeApiError({ code: 'InvalidInstanceId', message: `Instances [[${id}]] not in a valid state for account` });
        }
      }
      commandCounter++;
      const commandId = `${commandCounter.toString(16).padStart(8, '0')}-0000-4000-8000-${world.callCount.toString(16).padStart(12, '0')}`;
      const invs = ids.map((id) => world.sendCommand(world.instances.get(id)!, {
        commandId,
        documentName: p.DocumentName,
        comment: p.Comment ?? '',
        parameters: p.Parameters ?? {},
        outputS3BucketName: p.OutputS3BucketName,
        outputS3KeyPrefix: p.OutputS3KeyPrefix,
        timeoutSeconds: p.TimeoutSeconds,
        ...(p.DocumentVersion !== undefined ? { documentVersion: p.DocumentVersion } : {}),
        ...(cw !== undefined ? { cloudWatchOutputConfig: cw } : {}),
      }));
      for (const inv of invs) invocationDocuments.set(inv, doc);
      // An instance with a shell (fakes/instance-shell.ts) runs the script for real; it ends as the script did.
      for (const inv of invs) runOnInstanceShell(world, inv);
      const now = epoch(invs[0].requestedAt);
      // The command exists now; its answer may still never reach the caller.
      const lost = world.lostAnswerFor('ssm', 'SendCommand', ids);
      if (lost) throw new FakeApiError(lost);
      return json({
        Command: {
          CommandId: commandId,
          DocumentName: p.DocumentName,
          DocumentVersion: p.DocumentVersion ?? '$DEFAULT',
          CloudWatchOutputConfig: cw ?? { CloudWatchOutputEnabled: false },
          Comment: p.Comment ?? '',
          ExpiresAfter: now + (p.TimeoutSeconds ?? 3600),
          Parameters: p.Parameters ?? {},
          InstanceIds: ids,
          Targets: [],
          RequestedDateTime: now,
          Status: 'Pending',
          StatusDetails: 'Pending',
          OutputS3Region: 'us-east-1',
          OutputS3BucketName: p.OutputS3BucketName ?? '',
          OutputS3KeyPrefix: p.OutputS3KeyPrefix ?? '',
          MaxConcurrency: p.MaxConcurrency ?? '50',
          MaxErrors: p.MaxErrors ?? '0',
          TargetCount: ids.length,
          CompletedCount: 0,
          ErrorCount: 0,
          DeliveryTimedOutCount: 0,
          TimeoutSeconds: p.TimeoutSeconds ?? 3600,
        },
      });
    },

    GetCommandInvocation(p) {
      const list = world.commands.get(String(p.CommandId));
      if (!list) {
        throw new FakeApiError({ code: 'InvalidCommandId', message: 'Command ID is invalid or does not exist' });
      }
      const inv = list.find((i) => i.instanceId === p.InstanceId);
      if (!inv) throw new FakeApiError({ code: 'InvalidInstanceId', message: `Instance ${p.InstanceId} is not part of command ${p.CommandId}` });
      // "If the document contains more than one step, you must specify the name of the step" (API reference);
      // without it, or with a name that is not a step of the document, SSM answers InvalidPluginName.
      const steps = documentOf(inv)?.steps ?? [];
      const pluginName: string | undefined = p.PluginName;
      if (pluginName === undefined ? steps.length > 1 : !steps.some((st) => st.name === pluginName)) {
        throw new FakeApiError({ code: 'InvalidPluginName', message: '' });
      }
      if (inv.racePollsLeft > 0) {
        inv.racePollsLeft--;
        throw new FakeApiError({ code: 'InvocationDoesNotExist', message: '' });
      }
      world.observeInvocation(inv);
      const stepName = pluginName ?? steps[0]?.name ?? '';
      const step = pluginsOf(inv).find((r) => r.name === stepName);
      const stepStatus = step?.status ?? inv.status;
      const out = step ? { stdout: step.stdout, stderr: step.stderr } : output(inv);
      return json({
        CommandId: inv.commandId,
        InstanceId: inv.instanceId,
        Comment: inv.comment,
        DocumentName: inv.documentName,
        DocumentVersion: inv.documentVersion ?? '$DEFAULT',
        PluginName: stepName,
        ResponseCode: step?.responseCode ?? inv.responseCode,
        ExecutionStartDateTime: inv.status === 'Pending' ? '' : inv.requestedAt.toISOString(),
        ExecutionElapsedTime: inv.status === 'Pending' ? '' : 'PT1S',
        ExecutionEndDateTime: ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(inv.status) ? world.clock.dateAt(inv.endedAt ?? world.now(inv.instanceId)).toISOString() : '',
        Status: stepStatus,
        StatusDetails: step?.statusDetails ?? inv.statusDetails,
        StandardOutputContent: out.stdout.slice(0, CONTENT_MAX),
        StandardOutputUrl: '',
        StandardErrorContent: out.stderr.slice(0, ERROR_CONTENT_MAX),
        StandardErrorUrl: '',
        CloudWatchOutputConfig: cloudWatchOutputOf(inv),
      });
    },

    ListCommandInvocations(p) {
      let invs: CommandInvocation[];
      if (p.CommandId) {
        invs = (world.commands.get(String(p.CommandId)) ?? []).filter((i) => !p.InstanceId || i.instanceId === p.InstanceId);
      } else if (p.InstanceId) {
        invs = world.commandsFor(String(p.InstanceId));
      } else {
        invs = [...world.commands.values()].flat();
      }
      for (const f of (p.Filters ?? []) as Array<{ key: string; value: string }>) {
        if (f.key === 'InvokedAfter') {
          const t = filterTimestamp(f);
          invs = invs.filter((i) => i.requestedAt.getTime() >= t);
        } else if (f.key === 'InvokedBefore') {
          const t = filterTimestamp(f);
          invs = invs.filter((i) => i.requestedAt.getTime() <= t);
        } else if (f.key === 'Status') {
          invs = invs.filter((i) => i.status === f.value);
        } else if (f.key === 'DocumentName') {
          invs = invs.filter((i) => i.documentName === f.value);
        } else {
          throw new FakeApiError({ code: 'InvalidFilterKey', message: `The filter key ${f.key} is not supported by the fake` });
        }
      }
      // The listing is eventually consistent: an invocation is left out of the first `ssmListLagCalls` listings that
      // would hold it (an empty list right after SendCommand, aws/aws-cli#3546).
      invs = invs.filter((i) => {
        if (i.listLagLeft > 0) {
          i.listLagLeft--;
          return false;
        }
        return true;
      });
      // Listing a command's invocations polls them (advances them by one observation); searching by instance or
      // filters only looks.
      const polls = !!p.CommandId;
      const start = readToken(p.NextToken);
      const max = p.MaxResults ?? 50;
      const page = invs.slice(start, start + max).map((i) => invocationJson(world, polls ? world.observeInvocation(i) : i, !!p.Details));
      return json({
        CommandInvocations: page,
        ...(start + max < invs.length ? { NextToken: pageToken(start + max) } : {}),
      });
    },

    CancelCommand(p) {
      const list = world.commands.get(String(p.CommandId));
      if (!list) throw new FakeApiError({ code: 'InvalidCommandId', message: 'Command ID is invalid or does not exist' });
      const ids: string[] | undefined = p.InstanceIds;
      for (const inv of list) {
        if (ids && ids.length > 0 && !ids.includes(inv.instanceId)) continue;
        if (!['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(inv.status) && !inv.cancelRequested) {
          inv.cancelRequested = true;
          inv.cancelAt = world.now(inv.instanceId);
        }
      }
      return json({});
    },

    DescribeInstanceInformation(p) {
      let ids: string[] | undefined;
      for (const f of (p.Filters ?? []) as Array<{ Key: string; Values: string[] }>) {
        if (f.Key === 'InstanceIds') ids = f.Values;
        else throw new FakeApiError({ code: 'InvalidFilterKey', message: `The filter key ${f.Key} is not supported by the fake` });
      }
      for (const f of (p.InstanceInformationFilterList ?? []) as Array<{ key: string; valueSet: string[] }>) {
        if (f.key === 'InstanceIds') ids = f.valueSet;
        else throw new FakeApiError({ code: 'InvalidInstanceInformationFilterValue', message: `The filter key ${f.key} is not supported by the fake` });
      }
      const max = p.MaxResults ?? 50;
      if (max < 5 || max > 50) {
        throw new FakeApiError({ code: 'ValidationException', message: '1 validation error detected: Value at \'maxResults\' failed to satisfy constraint: Member must have value between 5 and 50' });
      }
      const candidates = ids ? ids.map((id) => world.instances.get(id)).filter((i) => i !== undefined) : world.instanceList;
      const start = readToken(p.NextToken);
      const page: unknown[] = [];
      let pos = start;
      for (; pos < candidates.length && page.length < max; pos++) {
        const inst = candidates[pos]!;
        const ping = world.pingStatus(inst, true);
        if (ping === undefined) continue;
        page.push({
          InstanceId: inst.id,
          PingStatus: ping,
          LastPingDateTime: epoch(world.clock.dateAt(world.now(inst.id))),
          AgentVersion: '3.3.0.0',
          IsLatestVersion: true,
          PlatformType: inst.platform,
          PlatformName: inst.platform === 'Windows' ? 'Microsoft Windows Server 2022 Datacenter' : 'Amazon Linux',
          PlatformVersion: inst.platform === 'Windows' ? '10.0.20348' : '2023',
          ResourceType: 'EC2Instance',
          ComputerName: `${inst.id}.ec2.internal`,
          IPAddress: '10.0.0.1',
        });
      }
      return json({
        InstanceInformationList: page,
        ...(pos < candidates.length ? { NextToken: pageToken(pos) } : {}),
      });
    },
  };

  function instanceIdsOf(action: string, p: any): string[] {
    if (Array.isArray(p.InstanceIds)) return p.InstanceIds;
    if (typeof p.InstanceId === 'string') return [p.InstanceId];
    if (action === 'DescribeInstanceInformation') {
      const f = (p.Filters ?? []).find((x: any) => x.Key === 'InstanceIds')
        ?? (p.InstanceInformationFilterList ?? []).find((x: any) => x.key === 'InstanceIds');
      return f ? f.Values ?? f.valueSet ?? [] : [];
    }
    if (action === 'CancelCommand' && p.CommandId) return (world.commands.get(String(p.CommandId)) ?? []).map((i) => i.instanceId);
    return [];
  }

  return (req: FakeRequest) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.replace(/^AmazonSSM\./, '');
    let params: any;
    try {
      params = req.body ? JSON.parse(req.body) : {};
    } catch {
      return jsonErrorResponse('SerializationException', 'bad JSON', 400);
    }
    try {
      world.recordCall('ssm', action, instanceIdsOf(action, params), params);
      checkThrottle(world, 'ssm', action, instanceIdsOf(action, params));
      const fn = actions[action];
      if (!fn) return jsonErrorResponse('UnknownOperationException', `${target} is not supported by the fake`, 400);
      return fn(params);
    } catch (e) {
      if (e instanceof FakeApiError) {
        const last = world.calls[world.calls.length - 1];
        if (last) last.error = e.code;
        return jsonErrorResponse(e.code, e.message, e.httpStatus);
      }
      throw e;
    }
  };
}
