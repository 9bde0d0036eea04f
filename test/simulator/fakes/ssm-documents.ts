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

// ---------------------------------------------------------------------------------------------------------------
// Issue 15: documents of the account and documents shared with it (BackupScript.fromSsmDocument).
// ---------------------------------------------------------------------------------------------------------------

/** A document registered in a world: its owner and, for another account's, whether it is shared with ours. */
export interface RegisteredDocument extends CommandDocument {
  /** Account that owns it: the simulated account, or another one. */
  readonly owner: string;
  /** Another account's document: whether it is shared with the simulated account. */
  readonly shared?: boolean;
  /** Versions 1..versions exist (CreateDocument makes 1; UpdateDocument adds one each). */
  readonly versions?: number;
}

const registries = new WeakMap<object, Map<string, RegisteredDocument>>();

/** Registers a document in the world (as CreateDocument, or a share from another account, would). */
export function registerDocument(world: object, doc: RegisteredDocument): void {
  let reg = registries.get(world);
  if (!reg) registries.set(world, reg = new Map());
  reg.set(`${doc.owner}/${doc.name}`, doc);
}

/** An SSM API error as the stand-in throws it (code and message). */
export interface DocumentError {
  readonly code: 'InvalidDocument' | 'InvalidDocumentVersion';
  readonly message: string;
}

/**
 * The document SendCommand's DocumentName (and DocumentVersion) designates in `account`, or the error SSM answers:
 * AWS's documents by name (or by an ARN without account); the account's own by name or ARN; another account's only by
 * ARN and only when shared ("To run a shared document belonging to another account, specify the document ARN ... If
 * you specify a document name or ARN that hasn't been shared with your account, you receive an InvalidDocument
 * error"); a version that does not exist: InvalidDocumentVersion.
 */
export function resolveDocument(world: object, account: string, documentName: string, version: string | undefined): CommandDocument | DocumentError {
  const reg = registries.get(world) ?? new Map<string, RegisteredDocument>();
  const arn = /^arn:[^:]+:ssm:[^:]*:(\d{12})?:document\/(.+)$/.exec(documentName);
  const owner = arn ? arn[1] ?? '' : undefined;
  const name = arn ? arn[2] : documentName;
  let doc: CommandDocument | undefined;
  let versions = 1;
  if (owner === '' || (owner === undefined && COMMAND_DOCUMENTS[name])) {
    doc = COMMAND_DOCUMENTS[name];
  } else {
    const found = reg.get(`${owner ?? account}/${name}`);
    if (found && (found.owner === account || (owner !== undefined && found.shared))) {
      doc = found;
      versions = found.versions ?? 1;
    }
  }
  if (!doc) {
    return { code: 'InvalidDocument', message: `Document with name ${documentName} does not exist or is not shared with account ${account}` };
  }
  if (version !== undefined && version !== '$DEFAULT' && version !== '$LATEST' && !(Number(version) >= 1 && Number(version) <= versions)) {
    return { code: 'InvalidDocumentVersion', message: `Document ${documentName} has no version ${version}` };
  }
  return doc;
}

/** DLM template's `executionId` allowedPattern. */
export const DLM_EXECUTION_ID_ALLOWED_PATTERN = '^(None|[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12})$';

/**
 * A document written for Data Lifecycle Manager, as AWS's template defines it (schema 2.2): parameters `executionId`
 * (default `None`, allowedPattern a UUID or `None`) and `command` (default `dry-run`, allowedValues pre-script,
 * post-script, dry-run), one `aws:runShellScript` step `run_pre_post_scripts` with the precondition
 * `StringEquals: [platformType, Linux]`. `extra` adds the user's own parameters.
 */
export function dlmStyleDocument(name: string, owner: string, extra: Record<string, DocumentParameter> = {}): RegisteredDocument {
  return {
    name,
    owner,
    parameters: {
      executionId: { type: 'String', allowedPattern: DLM_EXECUTION_ID_ALLOWED_PATTERN.slice(1, -1) },
      command: { type: 'String', allowedValues: ['pre-script', 'post-script', 'dry-run'] },
      ...extra,
    },
    steps: [{ name: 'run_pre_post_scripts', action: 'aws:runShellScript', platform: 'Linux', runsScript: true }],
  };
}

/** The end of CommandPlugin.Output: at most 2,500 characters (API reference of CommandPlugin; the agent's MaximumPluginOutputSize). */
export const PLUGIN_OUTPUT_CAPACITY = 2500;
const ERROR_TITLE = '\n----------ERROR-------\n';
const TRUNCATE_OUT = '\n---Output truncated---';
const TRUNCATE_ERROR = '\n---Error truncated----';

/**
 * What the SSM agent reports as a step's Output (amazon-ssm-agent iohandler.go `TruncateOutput`): stdout, then, when
 * there is stderr, `----------ERROR-------` and stderr; when too long, the START of each is kept and marked truncated
 * (the agent counts bytes; the stand-in counts characters).
 */
export function agentPluginOutput(stdout: string, stderr: string, capacity = PLUGIN_OUTPUT_CAPACITY): string {
  const title = stderr.length > 0 ? ERROR_TITLE : '';
  const space = capacity - title.length;
  if (stdout.length + stderr.length < space) return `${stdout}${title}${stderr}`;
  if (stdout.length > space / 2 && stderr.length > space / 2) {
    const size = space - TRUNCATE_ERROR.length - TRUNCATE_OUT.length;
    return `${stdout.slice(0, Math.floor(size / 2))}${TRUNCATE_OUT}${title}${stderr.slice(0, Math.floor(size / 2))}${TRUNCATE_ERROR}`;
  }
  if (stdout.length < space / 2) {
    const size = space - TRUNCATE_ERROR.length;
    return `${stdout}${title}${stderr.slice(0, size - stdout.length)}${TRUNCATE_ERROR}`;
  }
  const size = space - TRUNCATE_OUT.length;
  return `${stdout.slice(0, size - stderr.length)}${TRUNCATE_OUT}${title}${stderr}`;
}

/** CloudWatch Logs' LogGroupName pattern (API reference of CreateLogGroup): `[\.\-_/#A-Za-z0-9]+`, 1 to 512. */
export const LOG_GROUP_NAME_PATTERN = /^[.\-_/#A-Za-z0-9]{1,512}$/;
