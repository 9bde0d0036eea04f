/**
 * The handlers' logger (Powertools Logger): structured JSON lines with the handler's name, the invocation's
 * correlation keys and the fields given; LOG_LEVEL read at every line.
 */
import { correlationOf, createLogger, LOG_SERVICE } from '../../src/lambda-shared/log';

const saved = process.env.LOG_LEVEL;
let lines: Array<Record<string, unknown>>;
let out: jest.SpyInstance;
let err: jest.SpyInstance;

beforeEach(() => {
  lines = [];
  const capture = (chunk: unknown): boolean => {
    for (const line of String(chunk).split('\n').filter((l) => l.trim())) lines.push(JSON.parse(line));
    return true;
  };
  out = jest.spyOn(process.stdout, 'write').mockImplementation(capture as never);
  err = jest.spyOn(process.stderr, 'write').mockImplementation(capture as never);
  process.env.LOG_LEVEL = 'info';
});
afterEach(() => {
  out.mockRestore();
  err.mockRestore();
  process.env.LOG_LEVEL = saved;
});

test('one JSON line per event: level, message, service, handler, the fields; errors and bigints as plain data', () => {
  const log = createLogger('send-script');
  log.info('command sent', { attempt: 2, big: BigInt(7), error: new TypeError('boom') });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    level: 'INFO',
    message: 'command sent',
    service: LOG_SERVICE,
    handler: 'send-script',
    attempt: 2,
    big: '7',
    error: { name: 'TypeError', message: 'boom' },
  });
  expect(typeof lines[0].timestamp).toBe('string');
});

test('correlation keys: every line of an invocation carries them; the next invocation starts afresh', () => {
  const log = createLogger('get-script-status');
  log.correlate({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:Backup:run-1', instanceId: 'i-1', commandId: '' });
  log.appendKeys({ commandId: 'cmd-1' });
  log.info('script finished');
  log.correlate({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:Backup:run-2' });
  log.warn('script wait expired');
  expect(lines[0]).toMatchObject({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:Backup:run-1', instanceId: 'i-1', commandId: 'cmd-1' });
  expect(lines[1]).toMatchObject({ level: 'WARN', executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:Backup:run-2' });
  expect(lines[1]).not.toHaveProperty('instanceId');
  expect(lines[1]).not.toHaveProperty('commandId');
});

test('LOG_LEVEL is read at every line: silent silences, debug shows debug', () => {
  const log = createLogger('record-run');
  log.debug('hidden at info');
  process.env.LOG_LEVEL = 'silent';
  log.error('hidden when silent');
  process.env.LOG_LEVEL = 'debug';
  log.debug('shown at debug');
  expect(lines.map((l) => l.message)).toEqual(['shown at debug']);
});

test('correlationOf: the keys wherever the workflow puts them', () => {
  const arn = 'arn:aws:states:eu-west-1:111122223333:execution:Backup:run-1';
  expect(correlationOf({ execution: { id: arn }, instanceId: 'i-1' })).toEqual({ executionArn: arn, instanceId: 'i-1' });
  expect(correlationOf({ previous: { commandId: 'cmd-1', instanceId: 'i-2' } })).toEqual({ instanceId: 'i-2', commandId: 'cmd-1' });
  expect(correlationOf({ previous: { backupJobId: 'job-1' } })).toEqual({ jobId: 'job-1' });
  expect(correlationOf({ execution: { id: arn }, instance: { instanceId: 'i-3' } })).toEqual({ executionArn: arn, instanceId: 'i-3' });
  expect(correlationOf({ detail: { 'instance-id': 'i-4', 'command-id': 'cmd-4' } })).toEqual({ instanceId: 'i-4', commandId: 'cmd-4' });
  expect(correlationOf(undefined)).toEqual({});
});
