/**
 * The building blocks of the execution input's schema: zod (mini) schemas whose issues carry this function's messages,
 * and how the issues become the one error that reports every problem of an input.
 */
// esbuild bundles zod into the handler; the construct package never loads it, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import * as z from 'zod/mini';
import { InvalidInputError } from '../../lambda-shared/errors';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 60)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'object') {
    return 'an object';
  }
  return `${typeof value} ${String(value)}`;
}

/** Collects every problem of an input, so one error can report them all. */
export class Problems {
  private readonly list: string[] = [];

  add(field: string, problem: string): void {
    this.list.push(`${field}: ${problem}`);
  }

  get count(): number {
    return this.list.length;
  }

  /** One problem per schema issue: the issue's path (dotted; `input` for the input itself) and its message. */
  addIssues(issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> }>): void {
    for (const issue of issues) {
      const path = (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
      this.add(path || 'input', issue.message);
    }
  }

  throwIfAny(): void {
    if (this.list.length > 0) {
      const plural = this.list.length === 1 ? 'problem' : 'problems';
      throw new InvalidInputError(`Invalid execution input (${this.list.length} ${plural}; no instance was touched): ${this.list.join('; ')}`);
    }
  }
}

/** The message of an object's unknown keys. */
function unknownKeys(keys: readonly string[], allowed: readonly string[]): string {
  return `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}; allowed keys are ${allowed.join(', ')}`;
}

/** Absent: undefined or null (the input's JSON may hold `null` for a field it leaves out). */
export function absent<T extends z.core.SomeType>(schema: T) {
  return z.nullish(schema);
}

/**
 * An object with exactly these keys (each may be absent). `notObject` says what is wrong with a value that is no
 * object; an unknown key is reported with the allowed keys.
 */
export function strictObjectOf<S extends z.core.$ZodLooseShape>(shape: S, notObject: (input: unknown) => string) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownKeys(issue.keys, allowed) : notObject(issue.input)),
  });
}

/** A string. */
export const STRING = z.string({ error: (issue) => `must be a string, got ${describe(issue.input)}` });

/** true/false, or the strings "true"/"false" in any case (trimmed). */
export const BOOLEAN = z.union([
  z.boolean(),
  z.pipe(
    z.pipe(z.string(), z.transform((v: string) => v.trim().toLowerCase())),
    z.pipe(z.enum(['true', 'false']), z.transform((v: 'true' | 'false') => v === 'true')),
  ),
], { error: (issue) => `must be true or false (or the string "true" / "false"), got ${describe(issue.input)}` });

/** A string that must meet `problem` (which returns what is wrong with it, or undefined). */
export function stringWhere(problem: (value: string) => string | undefined) {
  return STRING.check(z.superRefine((value: string, ctx) => {
    const message = problem(value);
    if (message !== undefined) {
      ctx.addIssue({ code: 'custom', message, input: value });
    }
  }));
}

/** Any value, read by `read`, which returns the value or reports what is wrong with it through `fail`. */
export function valueWhere<T>(read: (raw: unknown, fail: (message: string) => void) => T) {
  return z.pipe(z.unknown(), z.transform((raw: unknown, payload) => read(raw, (message) => {
    payload.issues.push({ code: 'custom', message, input: raw });
  })));
}
