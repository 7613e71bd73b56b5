/**
 * A failure of an IPAM operation. The message is the text the reference
 * implementation prints (host-local, kube-apiserver, kube-controller-manager),
 * because users grep logs for it.
 */
export class IpamError extends Error {
  override readonly name = "IpamError";
  /** Which input is wrong or which pool is affected, when there is one (e.g. `ipam.ranges`). */
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
  }
}
