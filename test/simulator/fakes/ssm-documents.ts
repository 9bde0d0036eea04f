/**
 * The SSM Command documents the stand-in knows: their parameters (with the constraints SendCommand enforces) and their
 * steps (with their platform preconditions), as AWS's own documents define them. docs/fidelity/ssm.md says where each
 * definition comes from.
 */

export interface DocumentParameter {
  readonly type: 'String' | 'StringList' | 'StringMap';
  /** No default: SendCommand must give it. */
  readonly required?: boolean;
  /** A regular expression the whole value must match. */
  readonly allowedPattern?: string;
  readonly allowedValues?: readonly string[];
  readonly maxChars?: number;
}

export interface DocumentStep {
  /** The step's `name`: what GetCommandInvocation's PluginName and a CommandPlugin's Name hold. */
  readonly name: string;
  /** The plugin it runs (`aws:downloadContent`, `aws:runShellScript`...). */
  readonly action: string;
  /** `StringEquals: [platformType, <platform>]`: the step runs only on that platform, else it is skipped. */
  readonly platform?: 'Linux' | 'Windows';
  /** Whether this step runs the user's script (its outcome is the script's). */
  readonly runsScript?: boolean;
  /** Whether this step downloads the script. */
  readonly downloads?: boolean;
}

export interface CommandDocument {
  readonly name: string;
  readonly parameters: Readonly<Record<string, DocumentParameter>>;
  readonly steps: readonly DocumentStep[];
}

/** `executionTimeout` of AWS-RunRemoteScript and AWS-RunShellScript: 1 to 28800 seconds ("Maximum is 28800 (8 hours)"). */
export const EXECUTION_TIMEOUT_PATTERN = '([1-9][0-9]{0,3})|(1[0-9]{1,4})|(2[0-7][0-9]{1,3})|(28[0-7][0-9]{1,2})|(28800)';

export const RUN_REMOTE_SCRIPT: CommandDocument = {
  name: 'AWS-RunRemoteScript',
  parameters: {
    sourceType: { type: 'String', required: true, allowedValues: ['GitHub', 'S3'] },
    sourceInfo: { type: 'StringMap', required: true },
    commandLine: { type: 'String', required: true },
    workingDirectory: { type: 'String', maxChars: 4096 },
    executionTimeout: { type: 'String', allowedPattern: EXECUTION_TIMEOUT_PATTERN },
  },
  steps: [
    { name: 'downloadContent', action: 'aws:downloadContent', downloads: true },
    { name: 'runPowerShellScript', action: 'aws:runPowerShellScript', platform: 'Windows', runsScript: true },
    { name: 'runShellScript', action: 'aws:runShellScript', platform: 'Linux', runsScript: true },
  ],
};

export const RUN_SHELL_SCRIPT: CommandDocument = {
  name: 'AWS-RunShellScript',
  parameters: {
    commands: { type: 'StringList', required: true },
    workingDirectory: { type: 'String', maxChars: 4096 },
    executionTimeout: { type: 'String', allowedPattern: EXECUTION_TIMEOUT_PATTERN },
  },
  // Schema 1.2: one plugin, reported under the plugin's own name.
  steps: [{ name: 'aws:runShellScript', action: 'aws:runShellScript', runsScript: true }],
};

export const COMMAND_DOCUMENTS: Readonly<Record<string, CommandDocument>> = {
  [RUN_REMOTE_SCRIPT.name]: RUN_REMOTE_SCRIPT,
  [RUN_SHELL_SCRIPT.name]: RUN_SHELL_SCRIPT,
};

/** Whether a whole value matches an allowedPattern (SSM validates the whole parameter value). */
export function matchesAllowedPattern(value: string, pattern: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(value);
}

/**
 * The problems SendCommand reports for `parameters` of `doc` (empty when valid): unknown names, missing required
 * ones, values outside allowedValues / allowedPattern / maxChars, a StringMap that is not a JSON object.
 */
export function parameterProblems(doc: CommandDocument, parameters: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(parameters)) {
    if (!doc.parameters[name]) problems.push(`${name} is not a parameter of ${doc.name}`);
  }
  for (const [name, def] of Object.entries(doc.parameters)) {
    const raw = parameters[name];
    if (raw === undefined) {
      if (def.required) problems.push(`${name} is required`);
      continue;
    }
    if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) {
      problems.push(`${name} must be a list of strings`);
      continue;
    }
    const values = raw as string[];
    if (def.type !== 'StringList' && values.length !== 1) {
      problems.push(`${name} takes one value`);
      continue;
    }
    for (const v of values) {
      if (def.allowedValues && !def.allowedValues.includes(v)) problems.push(`${name} ${JSON.stringify(v)} is not one of ${def.allowedValues.join(', ')}`);
      if (def.allowedPattern && !matchesAllowedPattern(v, def.allowedPattern)) {
        problems.push(`${name} ${JSON.stringify(v)} fails to match the allowed pattern ${def.allowedPattern}`);
      }
      if (def.maxChars !== undefined && v.length > def.maxChars) problems.push(`${name} is longer than ${def.maxChars} characters`);
      if (def.type === 'StringMap') {
        let parsed: unknown;
        try { parsed = JSON.parse(v); } catch { parsed = undefined; }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) problems.push(`${name} is not a map`);
      }
    }
  }
  return problems;
}
