/**
 * CNI error results: the spec's well-known codes and the error JSON shape
 * (`{"cniVersion", "code", "msg", "details"}`) a plugin prints on stdout.
 */

/**
 * The well-known error codes of the CNI spec (0-99 are reserved; plugins use
 * 100 and up for their own). `InvalidNetNs` (8) and `Internal` (999) are not in
 * the spec text but are what the reference library (libcni `pkg/types`) uses:
 * every plain error a Go plugin returns becomes 999.
 */
export const ErrorCode = {
  /** 1: incompatible CNI version. */
  IncompatibleCniVersion: 1,
  /** 2: unsupported field in the network configuration (the message names key and value). */
  UnsupportedField: 2,
  /** 3: container unknown or does not exist. */
  UnknownContainer: 3,
  /** 4: invalid or missing environment variables (the message names them). */
  InvalidEnvironmentVariables: 4,
  /** 5: I/O failure, e.g. reading stdin. */
  IoFailure: 5,
  /** 6: failed to decode content (JSON). */
  DecodingFailure: 6,
  /** 7: invalid network configuration. */
  InvalidNetworkConfig: 7,
  /** 8: CNI_NETNS is the plugin's own namespace (libcni, not in the spec). */
  InvalidNetNs: 8,
  /** 11: try again later (transient condition). */
  TryAgainLater: 11,
  /** 50: the plugin is not available (STATUS). */
  PluginNotAvailable: 50,
  /** 51: the plugin is not available and existing containers may have limited connectivity (STATUS). */
  LimitedConnectivity: 51,
  /** 999: internal error (what libcni's skel reports for any non-CNI error). */
  Internal: 999,
} as const;

/** The numeric value of one of {@link ErrorCode}'s entries, or any plugin-specific code. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | number;

/** The JSON a failing plugin prints on stdout. */
export interface ErrorResult {
  /** The spec version of the error (libcni's Go plugins omit it). */
  readonly cniVersion?: string;
  /** Error code (see {@link ErrorCode}). */
  readonly code: number;
  /** Short message. */
  readonly msg: string;
  /** Longer explanation (optional). */
  readonly details?: string;
}

/**
 * A typed CNI error. `msg` and `details` are the spec's fields; `field`, when
 * set, names the offending config key or variable (e.g. `plugins[1].type`).
 * `Error.message` is `msg` followed by `; details` when there are details.
 */
export class CniError extends Error {
  override readonly name = "CniError";
  /** The error code (see {@link ErrorCode}). */
  readonly code: number;
  /** Short message, as printed in the JSON. */
  readonly msg: string;
  /** Longer explanation ("" when none). */
  readonly details: string;
  /** The config field or environment variable at fault, when known. */
  readonly field: string | undefined;

  constructor(code: number, msg: string, details = "", field?: string) {
    super(details ? `${msg}; ${details}` : msg);
    this.code = code;
    this.msg = msg;
    this.details = details;
    this.field = field;
  }

  /** The error JSON object (with `cniVersion` when given, `details` only when non-empty). */
  toJSON(cniVersion?: string): ErrorResult {
    return {
      ...(cniVersion ? { cniVersion } : {}),
      code: this.code,
      msg: this.msg,
      ...(this.details ? { details: this.details } : {}),
    };
  }

  /** A CniError from a parsed error JSON object. */
  static fromJSON(value: ErrorResult): CniError {
    return new CniError(value.code, value.msg, value.details ?? "");
  }

  /**
   * Any thrown value as a CniError: a CniError is returned unchanged, anything
   * else becomes code 999 with its message (as libcni's skel does).
   */
  static from(e: unknown): CniError {
    if (e instanceof CniError) return e;
    if (e instanceof Error) return new CniError(ErrorCode.Internal, e.message);
    return new CniError(ErrorCode.Internal, String(e));
  }
}

/** True when `value` looks like an error result (`code` number and `msg` string). */
export function isErrorResult(value: unknown): value is ErrorResult {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "number" && typeof v.msg === "string";
}
