/**
 * Bad input to the proxy model: names the object (`Service ns1/svc1`,
 * `EndpointSlice ns1/svc1-abc`) and the field, and says what was expected.
 */
export class ProxyModelError extends Error {
  override readonly name = "ProxyModelError";
  /** The object, as `Kind namespace/name`. */
  readonly object: string;
  /** The field path inside the object (`spec.ipFamilies[0]`). */
  readonly field: string;

  constructor(object: string, field: string, message: string) {
    super(`${object}: ${field}: ${message}`);
    this.object = object;
    this.field = field;
  }
}

/**
 * An engine used out of order or against what it was built for (evaluate or
 * render before the first sync, a render-only engine asked to simulate), or a
 * ruleset it runs that refers to something missing. Names the mode.
 */
export class ProxyEngineError extends Error {
  override readonly name = "ProxyEngineError";
  /** The proxy mode (`iptables`, `nftables`, `ipvs`...). */
  readonly mode: string;

  constructor(mode: string, message: string) {
    super(message);
    this.mode = mode;
  }
}
