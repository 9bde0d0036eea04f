/**
 * SSM over JSON 1.1 (`X-Amz-Target: AmazonSSM.<Action>`): SendCommand, GetCommandInvocation,
 * ListCommandInvocations, CancelCommand, DescribeInstanceInformation.
 */
import { FakeHandler, FakeRequest, FakeResponse } from './http';
import { CommandInvocation, FakeApiError, World } from '../world';

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

function invocationJson(inv: CommandInvocation, details: boolean): Record<string, unknown> {
  const base: Record<string, unknown> = {
    CommandId: inv.commandId,
    InstanceId: inv.instanceId,
    InstanceName: '',
    Comment: inv.comment,
    DocumentName: inv.documentName,
    DocumentVersion: '$DEFAULT',
    RequestedDateTime: epoch(inv.requestedAt),
    Status: inv.status,
    StatusDetails: inv.statusDetails,
    ServiceRole: '',
    StandardOutputUrl: inv.outputS3BucketName ? `https://s3.amazonaws.com/${inv.outputS3BucketName}/${inv.outputS3KeyPrefix ?? ''}${inv.commandId}/${inv.instanceId}/awsrunShellScript/0.awsrunShellScript/stdout` : '',
    StandardErrorUrl: inv.outputS3BucketName ? `https://s3.amazonaws.com/${inv.outputS3BucketName}/${inv.outputS3KeyPrefix ?? ''}${inv.commandId}/${inv.instanceId}/awsrunShellScript/0.awsrunShellScript/stderr` : '',
  };
  if (details) {
    base.CommandPlugins = [{
      Name: 'runShellScript',
      Status: inv.status,
      StatusDetails: inv.statusDetails,
      ResponseCode: inv.responseCode,
      Output: output(inv).stdout,
    }];
  }
  return base;
}

function output(inv: CommandInvocation): { stdout: string; stderr: string } {
  const terminal = ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(inv.status);
  if (!terminal) return { stdout: '', stderr: '' };
  const b = inv.behaviour;
  return {
    stdout: b.stdout ?? (inv.status === 'Success' ? `${inv.phase} script done` : ''),
    stderr: b.stderr ?? (inv.status === 'Failed' ? `${inv.phase} script failed: exit status ${inv.responseCode}` : ''),
  };
}

export function ssmHandler(world: World): FakeHandler {
  let commandCounter = 0;

  const actions: Record<string, (p: any) => FakeResponse> = {
    SendCommand(p) {
      const ids: string[] = p.InstanceIds ?? [];
      if (p.Targets) throw new FakeApiError({ code: 'InvalidParameters', message: 'Targets are not supported by the fake; use InstanceIds' });
      if (!p.DocumentName) throw new FakeApiError({ code: 'ValidationException', message: 'DocumentName is required' });
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
      }));
      const now = epoch(invs[0].requestedAt);
      return json({
        Command: {
          CommandId: commandId,
          DocumentName: p.DocumentName,
          DocumentVersion: p.DocumentVersion ?? '$DEFAULT',
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
      if (inv.racePollsLeft > 0) {
        inv.racePollsLeft--;
        throw new FakeApiError({ code: 'InvocationDoesNotExist', message: '' });
      }
      world.observeInvocation(inv);
      const out = output(inv);
      return json({
        CommandId: inv.commandId,
        InstanceId: inv.instanceId,
        Comment: inv.comment,
        DocumentName: inv.documentName,
        DocumentVersion: '$DEFAULT',
        PluginName: p.PluginName ?? 'runShellScript',
        ResponseCode: inv.responseCode,
        ExecutionStartDateTime: inv.status === 'Pending' ? '' : inv.requestedAt.toISOString(),
        ExecutionElapsedTime: inv.status === 'Pending' ? '' : 'PT1S',
        ExecutionEndDateTime: ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(inv.status) ? new Date().toISOString() : '',
        Status: inv.status,
        StatusDetails: inv.statusDetails,
        StandardOutputContent: out.stdout,
        StandardOutputUrl: '',
        StandardErrorContent: out.stderr,
        StandardErrorUrl: '',
        CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
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
          const t = Date.parse(f.value);
          invs = invs.filter((i) => i.requestedAt.getTime() >= t);
        } else if (f.key === 'InvokedBefore') {
          const t = Date.parse(f.value);
          invs = invs.filter((i) => i.requestedAt.getTime() <= t);
        } else if (f.key === 'Status') {
          invs = invs.filter((i) => i.status === f.value);
        } else if (f.key === 'DocumentName') {
          invs = invs.filter((i) => i.documentName === f.value);
        } else {
          throw new FakeApiError({ code: 'InvalidFilterKey', message: `The filter key ${f.key} is not supported by the fake` });
        }
      }
      // Listing a command's invocations polls them (advances them by one observation); searching by instance or
      // filters only looks. The InvocationDoesNotExist race is GetCommandInvocation's alone.
      const polls = !!p.CommandId;
      const start = readToken(p.NextToken);
      const max = p.MaxResults ?? 50;
      const page = invs.slice(start, start + max).map((i) => invocationJson(polls ? world.observeInvocation(i) : i, !!p.Details));
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
          LastPingDateTime: epoch(new Date()),
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
