/**
 * The field readers of the execution input's validation: each reads one field, with zod (Powertools Parser's schema
 * library) where a schema says it, and adds what is wrong to `Problems`, so that one error reports every problem.
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

  throwIfAny(): void {
    if (this.list.length > 0) {
      const plural = this.list.length === 1 ? 'problem' : 'problems';
      throw new InvalidInputError(`Invalid execution input (${this.list.length} ${plural}; no instance was touched): ${this.list.join('; ')}`);
    }
  }
}

export function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string, problems: Problems): void {
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    problems.add(where, `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; allowed keys are ${allowed.join(', ')}`);
  }
}

export function objectField(obj: Record<string, unknown>, key: string, path: string, problems: Problems): Record<string, unknown> | undefined {
  const value = obj[key];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!isPlainObject(value)) {
    problems.add(path, `must be an object, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

/** true/false, or the strings "true"/"false" in any case (trimmed). */
const BOOLEAN = z.union([
  z.boolean(),
  z.pipe(
    z.pipe(z.string(), z.transform((v: string) => v.trim().toLowerCase())),
    z.pipe(z.enum(['true', 'false']), z.transform((v: 'true' | 'false') => v === 'true')),
  ),
]);

/** A boolean: true/false, or the strings "true"/"false" in any case. Undefined/null: absent. */
export function booleanField(value: unknown, path: string, problems: Problems): boolean | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  const parsed = z.safeParse(BOOLEAN, value);
  if (!parsed.success) {
    problems.add(path, `must be true or false (or the string "true" / "false"), got ${describe(value)}`);
    return undefined;
  }
  return parsed.data;
}

/** A string. Undefined/null: absent. */
export function stringField(value: unknown, path: string, problems: Problems): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  const parsed = z.safeParse(z.string(), value);
  if (!parsed.success) {
    problems.add(path, `must be a string, got ${describe(value)}`);
    return undefined;
  }
  return parsed.data;
}
