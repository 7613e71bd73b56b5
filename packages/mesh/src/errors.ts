/**
 * A configuration value the capture generator cannot use. `field` names the
 * setting (as the {@link CaptureConfig} property, the istio-iptables flag or the
 * pod annotation it came from); the message says what is wrong and how to fix it.
 */
export class MeshError extends Error {
  /** The setting that is wrong. */
  readonly field: string;

  /** @param field the setting that is wrong; @param message what is wrong and how to fix it. */
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "MeshError";
    this.field = field;
  }
}
