/** A minimal JSONPath reader for Wait states' SecondsPath / InputPath and rule targets' InputPath (`$.a.b`, `$['a'][0]`). */
export function readPath(pathExpr: string, value: unknown): unknown {
  if (!pathExpr.startsWith('$') || pathExpr.startsWith('$$')) throw new Error(`unsupported path ${pathExpr}`);
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/gy;
  re.lastIndex = 1;
  let cur: any = value;
  while (re.lastIndex < pathExpr.length) {
    const start = re.lastIndex;
    const m = re.exec(pathExpr);
    if (!m || m.index !== start) throw new Error(`unsupported path ${pathExpr}`);
    const key = m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3] ?? m[4]);
    cur = cur === null || cur === undefined ? undefined : cur[key];
  }
  return cur;
}
