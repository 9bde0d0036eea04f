/**
 * Scripts run as a Command document (BackupScript.fromSsmDocument): Data Lifecycle Manager's convention, the names
 * SendCommand and IAM take, the document's parameters as configured. Pure: shared by the construct and the handlers.
 * docs/fidelity/ssm.md holds the sources.
 */

/**
 * The value of DLM's `command` parameter: which stage the document runs. DLM's template document:
 * `allowedValues: [pre-script, post-script, dry-run]`, default `dry-run`.
 */
export type ScriptStage = 'pre-script' | 'post-script' | 'dry-run';

/** Every stage value, in DLM's order. */
export const SCRIPT_STAGES: readonly ScriptStage[] = ['pre-script', 'post-script', 'dry-run'];

/** DLM's parameter that chooses the stage. */
export const DLM_COMMAND_PARAMETER = 'command';
/** DLM's parameter naming the run (a UUID, or the literal `None`). */
export const DLM_EXECUTION_ID_PARAMETER = 'executionId';
/** DLM template's `allowedPattern` of `executionId`. */
export const DLM_EXECUTION_ID_PATTERN = /^(None|[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12})$/;

/** The `command` value for a phase of the workflow, or `dry-run` for a check that must change nothing. */
export function documentCommand(phase: 'pre' | 'post' | 'dry-run'): ScriptStage {
  return phase === 'pre' ? 'pre-script' : phase === 'post' ? 'post-script' : 'dry-run';
}

/** A Command document as configured: what send-script sends. */
export interface ScriptDocument {
  /** SendCommand's `DocumentName`: a name (own or AWS-owned document) or an ARN (own or shared). */
  readonly name: string;
  /** SendCommand's `DocumentVersion`; empty for the document's default version. */
  readonly version: string;
  /** Parameters sent at every stage, besides DLM's two (when `dlmConvention`). */
  readonly parameters: Record<string, string[]>;
  /** Whether `command` (the stage) and `executionId` are sent, as Data Lifecycle Manager does. */
  readonly dlmConvention: boolean;
}

/** botocore ssm service-2.json, shape `DocumentARN` (SendCommand's `DocumentName`): `^[a-zA-Z0-9_\-.:/]{3,128}$`. */
export const SEND_COMMAND_DOCUMENT_PATTERN = /^[a-zA-Z0-9_\-.:/]{3,128}$/;
/** CreateDocument's `Name` (a document's own name): `^[a-zA-Z0-9_\-.]{3,128}$`. */
export const DOCUMENT_NAME_PATTERN = /^[a-zA-Z0-9_\-.]{3,128}$/;
/** `arn:<partition>:ssm:<region>:<account or empty>:document/<name>`. */
export const DOCUMENT_ARN_PATTERN = /^arn:(aws[a-z-]*):ssm:([a-z0-9-]+):(\d{12})?:document\/([a-zA-Z0-9_\-.]{3,128})$/;

/**
 * Name prefixes AWS reserves for its own documents (CreateDocument `Name`: "You can't use the following strings as
 * document name prefixes ... aws, amazon, amzn, AWSEC2, AWSConfigRemediation, AWSSupport"). Compared without case:
 * a name starting so is AWS-owned, and its ARN has no account.
 */
export const AWS_RESERVED_DOCUMENT_PREFIXES: readonly string[] = ['aws', 'amazon', 'amzn'];

/** Whether a document name (not an ARN) names a document AWS owns. */
export function isAwsOwnedDocumentName(name: string): boolean {
  const lower = name.toLowerCase();
  return AWS_RESERVED_DOCUMENT_PREFIXES.some((p) => lower.startsWith(p));
}

/** The parts of a document ARN, or undefined for a plain name. */
export function parseDocumentArn(nameOrArn: string): { partition: string; region: string; account: string; name: string } | undefined {
  const m = DOCUMENT_ARN_PATTERN.exec(nameOrArn);
  return m ? { partition: m[1], region: m[2], account: m[3] ?? '', name: m[4] } : undefined;
}

/** The document's own name: the name itself, or the last part of its ARN. */
export function documentNameOf(nameOrArn: string): string {
  return parseDocumentArn(nameOrArn)?.name ?? nameOrArn;
}
