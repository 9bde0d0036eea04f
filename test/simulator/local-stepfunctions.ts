/**
 * aws-local-stepfunctions, loaded with one correction to its intrinsic functions (docs/fidelity/stepfunctions.md).
 *
 * The library (3.x, upstream too) removes EVERY backslash from the string an intrinsic function returns
 * (`result.replaceAll("\\", "")` in BaseIntrinsicFunction.call), meant to undo the escapes of string literals in the
 * invocation (`\'`, `\{`, `\}`, `\\`). It also strips them from the data: `States.JsonToString` of `{"m": "a\nb"}`
 * returns `{"m":"anb"}` (a newline inside the JSON text becomes the letter n; a `\"` inside a string leaves invalid
 * JSON), and `States.Format` drops a backslash held by a substituted value. In Step Functions the escapes belong to
 * the literals only: JsonToString "returns a string which is a JSON text representing the data identified by the
 * Path", and a value substituted into a template is inserted as it is.
 *
 * A second correction: an unseeded States.MathRandom draws a different number per call (see below).
 *
 * The correction: the result is left alone; a string literal argument has its escapes resolved (`\x` -> `x`); in a
 * States.Format template an escaped brace is a literal brace, and only an unescaped `{}` is a placeholder.
 * The library's source is evaluated with the correction appended (its module-level names are in scope there); the
 * loader refuses to run when those names are no longer what it corrects, rather than run the library uncorrected.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

type Library = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' } });

const CORRECTION = `
;(function correctIntrinsics() {
  if (typeof BaseIntrinsicFunction !== 'function' || typeof parseArguments !== 'function' || typeof validateArguments !== 'function'
    || typeof StatesFormat !== 'function' || typeof StatesRuntimeError !== 'function'
    || !String(BaseIntrinsicFunction.prototype.call).includes('replaceAll')) {
    throw new Error('aws-local-stepfunctions changed: test/simulator/local-stepfunctions.ts no longer knows how to correct its intrinsic functions');
  }
  const unescape = (literal) => literal.replace(/\\\\(.)/gs, '$1');
  BaseIntrinsicFunction.prototype.call = function call(input, context, ...args) {
    const isFormat = this.funcDefinition.name === 'States.Format';
    const parsedArgs = parseArguments(input, context, ...args)
      .map((value, i) => (typeof value === 'string' && String(args[i]).trim().startsWith("'") && !(isFormat && i === 0) ? unescape(value) : value));
    validateArguments(this.funcDefinition, ...parsedArgs);
    // The result is data: returned as it is (no backslash removed).
    return this.execute(...parsedArgs);
  };
  StatesFormat.prototype.execute = function execute(template, ...values) {
    let out = '';
    let used = 0;
    for (let i = 0; i < template.length; i++) {
      const c = template[i];
      if (c === '\\\\' && i + 1 < template.length) {
        out += template[++i];
      } else if (c === '{' && template[i + 1] === '}') {
        if (used >= values.length) break;
        const value = values[used++];
        out += typeof value === 'string' ? value : JSON.stringify(value);
        i++;
      } else {
        out += c;
      }
    }
    const placeholders = (template.replace(/\\\\./gs, '').match(/\\{\\}/g) ?? []).length;
    if (placeholders !== values.length) {
      throw new StatesRuntimeError('Number of arguments in ' + this.funcDefinition.name + ' do not match the occurrences of {}');
    }
    return out;
  };
  // States.MathRandom without a seed: the library seeds it with Date.now(), so every call of the same millisecond
  // (a wave of chains starting together) draws the same number. Step Functions draws a random number per call: here
  // each unseeded call takes the next seed of a sequence (reproducible for a given order of calls).
  if (typeof StatesMathRandom !== 'function') {
    throw new Error('aws-local-stepfunctions changed: test/simulator/local-stepfunctions.ts no longer knows States.MathRandom');
  }
  const seededExecute = StatesMathRandom.prototype.execute;
  let unseededCalls = 0;
  StatesMathRandom.prototype.execute = function execute(min, max, seed) {
    return seededExecute.call(this, min, max, seed ?? 1_000_003 * ++unseededCalls);
  };
})();
`;

function load(): Library {
  const file = require.resolve('aws-local-stepfunctions');
  const source = readFileSync(file, 'utf8');
  const module = { exports: {} as Record<string, unknown> };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const evaluate = new Function('exports', 'require', 'module', '__filename', '__dirname', `${source}\n${CORRECTION}`);
  evaluate(module.exports, require, module, file, dirname(file));
  return module.exports as unknown as Library;
}

/** The corrected library (one copy per module registry). */
export const localStepFunctions: Library = load();
