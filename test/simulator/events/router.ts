/**
 * Routing on the DEFAULT event bus: the template's `AWS::Events::Rule` resources without an EventBusName (or with
 * `default`), enabled, with an EventPattern. A matching event goes to each Lambda target of the rule (the whole
 * envelope, or the target's `Input` / `InputPath`). Targets that are not Lambda functions of the template are listed
 * in `ignoredTargets` and get nothing; an `InputTransformer` on a Lambda target is refused (not simulated).
 */
import { CfnTemplate, resolveTokens, ResolveOptions } from '../asl';
import { readPath } from '../json-path';
import { EventEnvelope } from './envelope';
import { matchesPattern } from './pattern';

export interface RouteRule {
  readonly logicalId: string;
  readonly pattern: Record<string, unknown>;
  readonly targets: Array<{ readonly id: string; readonly functionName: string; readonly input?: string; readonly inputPath?: string }>;
}

export interface Delivery {
  readonly rule: string;
  readonly targetId: string;
  readonly functionName: string;
  /** What the target receives. */
  readonly event: unknown;
}

function onDefaultBus(bus: unknown): boolean {
  if (bus === undefined || bus === null) return true;
  const s = String(bus);
  return s === 'default' || /:event-bus\/default$/.test(s);
}

export class EventRouter {
  /**
   * @param functionNameOf the loaded function's name for a target ARN, undefined when it is not one.
   */
  public static fromTemplate(template: CfnTemplate, functionNameOf: (arn: string) => string | undefined, options: ResolveOptions = {}): EventRouter {
    const rules: RouteRule[] = [];
    const ignored: string[] = [];
    for (const [logicalId, res] of Object.entries(template.Resources ?? {})) {
      if (res.Type !== 'AWS::Events::Rule') continue;
      const p = res.Properties ?? {};
      if (p.EventPattern === undefined || p.State === 'DISABLED') continue;
      if (!onDefaultBus(p.EventBusName === undefined ? undefined : resolveTokens(p.EventBusName, template, options))) continue;
      const raw = resolveTokens(p.EventPattern, template, options);
      const pattern = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>;
      const targets: RouteRule['targets'][number][] = [];
      for (const t of (p.Targets ?? []) as any[]) {
        const arn = String(resolveTokens(t.Arn, template, options));
        const fn = functionNameOf(arn);
        if (!fn) {
          ignored.push(`${logicalId}/${t.Id}: ${arn}`);
          continue;
        }
        if (t.InputTransformer) throw new Error(`rule ${logicalId} target ${t.Id}: InputTransformer is not supported by the simulator`);
        targets.push({
          id: String(t.Id),
          functionName: fn,
          input: t.Input === undefined ? undefined : String(resolveTokens(t.Input, template, options)),
          inputPath: t.InputPath,
        });
      }
      rules.push({ logicalId, pattern, targets });
    }
    return new EventRouter(rules, ignored);
  }

  constructor(public readonly rules: RouteRule[], public readonly ignoredTargets: string[] = []) {}

  /** The deliveries an event causes (none when no rule matches). */
  public route(envelope: EventEnvelope): Delivery[] {
    const out: Delivery[] = [];
    for (const rule of this.rules) {
      if (!matchesPattern(rule.pattern, envelope)) continue;
      for (const t of rule.targets) {
        const event = t.input !== undefined ? JSON.parse(t.input) : t.inputPath ? readPath(t.inputPath, envelope) : envelope;
        out.push({ rule: rule.logicalId, targetId: t.id, functionName: t.functionName, event: JSON.parse(JSON.stringify(event ?? null)) });
      }
    }
    return out;
  }
}
