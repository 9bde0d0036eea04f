/**
 * Step Functions over JSON 1.0 (`X-Amz-Target: AWSStepFunctions.<Action>`): SendTaskSuccess, SendTaskFailure,
 * SendTaskHeartbeat against the simulator's task tokens. Calls are recorded in the world's call log as
 * `sfn:<Action>` (about the token's instance) and can be throttled or failed with `world.injectFault`.
 */
import { FakeHandler, FakeRequest, FakeResponse } from './http';
import { TokenError, TokenRegistry } from '../tokens';
import { FakeApiError, World } from '../world';

const JSON_TYPE = 'application/x-amz-json-1.0';

function json(body: unknown): FakeResponse {
  return { status: 200, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) };
}

function error(code: string, message: string, status = 400): FakeResponse {
  return { status, headers: { 'content-type': JSON_TYPE, 'x-amzn-errortype': code }, body: JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${code}`, message }) };
}

export function sfnHandler(world: World, tokens: TokenRegistry): FakeHandler {
  return (req: FakeRequest) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.replace(/^AWSStepFunctions\./, '');
    let p: any;
    try {
      p = req.body ? JSON.parse(req.body) : {};
    } catch {
      return error('SerializationException', 'bad JSON');
    }
    const known = typeof p.taskToken === 'string' ? tokens.get(p.taskToken) : undefined;
    try {
      world.recordCall('sfn', action, known?.instanceId ? [known.instanceId] : [], p);
      switch (action) {
        case 'SendTaskSuccess':
          tokens.succeed(p.taskToken, p.output);
          return json({});
        case 'SendTaskFailure':
          if (typeof p.error === 'string' && p.error.length > 256) throw new FakeApiError({ code: 'ValidationException', message: 'error: at most 256 characters' });
          if (typeof p.cause === 'string' && p.cause.length > 32768) throw new FakeApiError({ code: 'ValidationException', message: 'cause: at most 32768 characters' });
          tokens.fail(p.taskToken, p.error, p.cause);
          return json({});
        case 'SendTaskHeartbeat':
          tokens.heartbeat(p.taskToken);
          return json({});
        default:
          throw new FakeApiError({ code: 'UnknownOperationException', message: `${target} is not supported by the fake` });
      }
    } catch (e) {
      if (e instanceof TokenError || e instanceof FakeApiError) {
        const code = e instanceof TokenError ? e.code : e.code;
        const last = world.calls[world.calls.length - 1];
        if (last && last.service === 'sfn') last.error = code;
        return error(code, e.message, e instanceof FakeApiError ? e.httpStatus : 400);
      }
      throw e;
    }
  };
}
