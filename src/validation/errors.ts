import { IConstruct } from 'constructs';

/**
 * aws-cdk-lib's core marks its construct errors, and among them its validation errors, with these symbols
 * (`Errors.isConstructError` and `Errors.isValidationError` test for them). Its `ValidationError` class is `@internal`
 * in aws-cdk-lib 2.225 (core/lib/errors.d.ts), so a library cannot construct it; carrying the same markers lets
 * `Errors.isValidationError(e)` and the CDK CLI treat ours the same way.
 */
const CONSTRUCT_ERROR_SYMBOL = Symbol.for('@aws-cdk/core.SynthesisError');
const VALIDATION_SYMBOL = Symbol.for('@aws-cdk/core.ValidationError');

/**
 * A prop (or context value) of a construct that fails its rules, found before the construct creates any resource.
 * It names the construct's path and the prop; its message says what is wrong and how to fix it.
 */
export class PropValidationError extends Error {
  /** The path of the construct whose prop is wrong, e.g. `Consumer/AppBackup`. */
  public readonly constructPath: string;
  /** The prop (or context key) that is wrong. */
  public readonly prop: string;
  /** The kind of error, as aws-cdk-lib's construct errors name it. */
  public readonly type = 'validation';
  /** The level of the error, as aws-cdk-lib's construct errors name it. */
  public readonly level = 'error';

  constructor(scope: IConstruct, constructName: string, prop: string, detail: string) {
    super(`${constructName} '${scope.node.path}': ${detail}`);
    Object.setPrototypeOf(this, PropValidationError.prototype);
    this.name = 'ValidationError';
    this.constructPath = scope.node.path;
    this.prop = prop;
    Object.defineProperty(this, CONSTRUCT_ERROR_SYMBOL, { value: true });
    Object.defineProperty(this, VALIDATION_SYMBOL, { value: true });
  }
}

/**
 * The one way every prop check of the constructs reports a problem: bound to the construct being validated, so each
 * error carries its path and the prop.
 */
export class PropsCheck {
  constructor(private readonly scope: IConstruct, private readonly constructName: string) {}

  /** Throws a `PropValidationError` for `prop`; `detail` starts with the prop's name and says how to fix it. */
  public fail(prop: string, detail: string): never {
    throw new PropValidationError(this.scope, this.constructName, prop, detail);
  }
}
