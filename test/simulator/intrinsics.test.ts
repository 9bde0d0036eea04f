import { localStepFunctions } from './local-stepfunctions';

/**
 * The simulator's intrinsic functions return data as Step Functions does (docs/fidelity/stepfunctions.md): the
 * library they come from removed every backslash of every string result.
 */
async function pass(parameters: Record<string, string>, input: unknown): Promise<Record<string, unknown>> {
  const machine = new localStepFunctions.StateMachine({
    StartAt: 'P',
    States: { P: { Type: 'Pass', Parameters: parameters, End: true } },
  } as any, { validationOptions: { noValidate: true } });
  return await machine.run(input as any).result as Record<string, unknown>;
}

const MESSAGE = 'first line\nsecond "quoted" line, C:\\data\\db.lock';

test('States.JsonToString returns a JSON text of the data: JSON.parse gives the data back, line breaks, quotes and backslashes included', async () => {
  const steps = { backup: { statusMessage: MESSAGE, done: true, seconds: 12 } };
  const out = await pass({ 'json.$': 'States.JsonToString($.steps)' }, { steps });
  expect(JSON.parse(out.json as string)).toEqual(steps);
  expect(out.json).toBe(JSON.stringify(steps));
});

test('States.Format inserts a value as it is; the escapes of its template are resolved', async () => {
  const out = await pass({
    'text.$': "States.Format('{}: {} of {} \\{not a placeholder\\} the account\\'s table, a backslash \\\\ inside', $.message, $.n, $.flag)",
  }, { message: MESSAGE, n: 3, flag: true });
  expect(out.text).toBe(`${MESSAGE}: 3 of true {not a placeholder} the account's table, a backslash \\ inside`);
});

test('a string literal argument has its escapes resolved; a value from a path keeps its backslashes', async () => {
  const out = await pass({
    'parts.$': "States.StringSplit($.text, '\\'')",
    'item.$': 'States.ArrayGetItem($.list, 0)',
  }, { text: "it's the dog's", list: ['a\\b'] });
  expect(out.parts).toEqual(['it', 's the dog', 's']);
  expect(out.item).toBe('a\\b');
});

test('States.Format with more placeholders than arguments is a States.Runtime error', async () => {
  await expect(pass({ 'text.$': "States.Format('{} {}', $.a)" }, { a: 'x' })).rejects.toThrow(/do not match the occurrences of \{\}/);
});
