/**
 * A policy the API server would reject (or that cannot be evaluated): names the
 * policy and the field, and says what to write instead.
 */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  /** `ns/name` (NetworkPolicy) or `name` (Admin/Baseline) of the offending policy. */
  readonly policy: string;
  /** Field path inside the policy, e.g. `spec.ingress[0].from[1].ipBlock.except[0]`. */
  readonly field: string;

  constructor(policy: string, field: string, message: string) {
    super(`${policy}: ${field}: ${message}`);
    this.policy = policy;
    this.field = field;
  }
}
