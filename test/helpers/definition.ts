import { Template } from 'aws-cdk-lib/assertions';

/**
 * The state machine definition of a synthesized template as a plain object. Tokens (function ARNs, the
 * table name) become `"<Ref:LogicalId>"`-style placeholders, which is all a structural check needs.
 */
export function definitionOf(template: Template): AslDefinition {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines);
  const body = machine.Properties.DefinitionString;
  const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map(part => {
    if (typeof part === 'string') return part;
    const token = part as Record<string, unknown>;
    if ('Ref' in token) return `<Ref:${token.Ref}>`;
    if ('Fn::GetAtt' in token) return `<GetAtt:${(token['Fn::GetAtt'] as string[]).join('.')}>`;
    return '<token>';
  }).join('');
  return JSON.parse(text);
}

export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Choices?: { Next: string; [key: string]: unknown }[];
  readonly Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  readonly Catch?: { ErrorEquals: string[]; Next: string }[];
  readonly SecondsPath?: string;
  readonly Seconds?: number;
  readonly ItemProcessor?: AslDefinition;
  readonly Iterator?: AslDefinition;
  readonly Branches?: AslDefinition[];
  readonly [key: string]: unknown;
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly [key: string]: unknown;
}

/** Every state of the definition, nested Map and Parallel states included, with its name. */
export function allStates(definition: AslDefinition): [string, AslState][] {
  const out: [string, AslState][] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    out.push([name, state]);
    const nested = [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].filter(Boolean) as AslDefinition[];
    nested.forEach(d => out.push(...allStates(d)));
  }
  return out;
}
