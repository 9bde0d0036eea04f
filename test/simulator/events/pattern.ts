/**
 * EventBridge event pattern matching, for what rules of this project can use: exact values (strings, numbers,
 * booleans, null) in arrays, nested objects, `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a
 * list of values, or `{ prefix }`), `exists`, and `numeric` comparisons. Anything else (`$or`, `wildcard`, `cidr`...)
 * throws: an unsupported pattern must not silently match or miss.
 *
 * Semantics (EventBridge user guide, "Event patterns"): every field of the pattern must match; a leaf is an array
 * of matchers, any one of which may match; when the event's value is an array, the leaf matches when any element
 * matches; a field absent from the event matches only `{ "exists": false }`.
 */

type Scalar = string | number | boolean | null;

export class UnsupportedPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPatternError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function numericMatch(spec: unknown[], value: unknown): boolean {
  if (typeof value !== 'number') return false;
  for (let i = 0; i < spec.length; i += 2) {
    const op = spec[i];
    const bound = spec[i + 1];
    if (typeof bound !== 'number') throw new UnsupportedPatternError(`numeric: ${JSON.stringify(spec)}`);
    const ok = op === '=' ? value === bound : op === '<' ? value < bound : op === '<=' ? value <= bound
      : op === '>' ? value > bound : op === '>=' ? value >= bound : undefined;
    if (ok === undefined) throw new UnsupportedPatternError(`numeric operator ${String(op)}`);
    if (!ok) return false;
  }
  return true;
}

/** One matcher of a leaf array against one scalar value of the event. */
function matcherMatches(matcher: unknown, value: Scalar): boolean {
  if (!isObject(matcher)) {
    if (Array.isArray(matcher)) throw new UnsupportedPatternError('nested arrays in a pattern');
    return matcher === value;
  }
  const keys = Object.keys(matcher);
  if (keys.length !== 1) throw new UnsupportedPatternError(`matcher with ${keys.length} keys: ${JSON.stringify(matcher)}`);
  const [op] = keys;
  const arg = matcher[op];
  switch (op) {
    case 'prefix':
      if (typeof arg !== 'string') throw new UnsupportedPatternError(`prefix ${JSON.stringify(arg)}`);
      return typeof value === 'string' && value.startsWith(arg);
    case 'suffix':
      if (typeof arg !== 'string') throw new UnsupportedPatternError(`suffix ${JSON.stringify(arg)}`);
      return typeof value === 'string' && value.endsWith(arg);
    case 'equals-ignore-case':
      if (typeof arg !== 'string') throw new UnsupportedPatternError(`equals-ignore-case ${JSON.stringify(arg)}`);
      return typeof value === 'string' && value.toLowerCase() === arg.toLowerCase();
    case 'anything-but':
      if (isObject(arg)) {
        if (typeof arg.prefix === 'string' && Object.keys(arg).length === 1) {
          return typeof value === 'string' && !value.startsWith(arg.prefix);
        }
        throw new UnsupportedPatternError(`anything-but ${JSON.stringify(arg)}`);
      }
      return Array.isArray(arg) ? !arg.includes(value) : arg !== value;
    case 'numeric':
      if (!Array.isArray(arg)) throw new UnsupportedPatternError(`numeric ${JSON.stringify(arg)}`);
      return numericMatch(arg, value);
    default:
      throw new UnsupportedPatternError(`operator ${op} is not supported by the simulator`);
  }
}

function leafMatches(matchers: unknown[], present: boolean, value: unknown): boolean {
  return matchers.some((m) => {
    if (isObject(m) && 'exists' in m) {
      if (Object.keys(m).length !== 1 || typeof m.exists !== 'boolean') throw new UnsupportedPatternError(`exists ${JSON.stringify(m)}`);
      // exists matches leaves only: an object value is not "a field that exists" for EventBridge.
      const leafPresent = present && !isObject(value);
      return m.exists === leafPresent;
    }
    if (!present) return false;
    const values = Array.isArray(value) ? value : [value];
    return values.some((v) => !isObject(v) && !Array.isArray(v) && matcherMatches(m, v as Scalar));
  });
}

/** Whether an event (the whole envelope) matches a pattern. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new UnsupportedPatternError(`a pattern must be an object, got ${JSON.stringify(pattern)}`);
  for (const [key, sub] of Object.entries(pattern)) {
    if (key.startsWith('$')) throw new UnsupportedPatternError(`${key} is not supported by the simulator`);
    const present = isObject(event) && Object.prototype.hasOwnProperty.call(event, key);
    const value = present ? (event as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(sub)) {
      if (!leafMatches(sub, present, value)) return false;
    } else if (isObject(sub)) {
      if (!present || !isObject(value)) return false;
      if (!matchesPattern(sub, value)) return false;
    } else {
      throw new UnsupportedPatternError(`pattern field ${key} must be an array or an object, got ${JSON.stringify(sub)}`);
    }
  }
  return true;
}
