/**
 * Validation of the untrusted names that reach the store: network names,
 * container IDs and interface names, with the CNI rules (libcni `pkg/utils`).
 */
import { IpamError } from "./errors.js";

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Check a network name (also the store directory name): `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`,
 * so never `.`, `..`, a path separator or a control character.
 * @throws {@link IpamError}
 */
export function validateNetworkName(name: string): void {
  if (typeof name !== "string" || name === "") throw new IpamError("missing network name", "name");
  if (!NAME.test(name)) throw new IpamError(`invalid characters found in network name ${JSON.stringify(name)}`, "name");
}

/**
 * Check a container ID: `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$` (so no CR/LF that could
 * forge another owner's record).
 * @throws {@link IpamError}
 */
export function validateContainerId(id: string): void {
  if (typeof id !== "string" || id === "") throw new IpamError("missing containerID", "CNI_CONTAINERID");
  if (!NAME.test(id)) throw new IpamError(`invalid characters in containerID ${JSON.stringify(id)}`, "CNI_CONTAINERID");
}

/**
 * Check an interface name as libcni does: non-empty, at most 15 bytes, not `.`
 * or `..`, no `/`, `:` or whitespace.
 * @throws {@link IpamError}
 */
export function validateIfName(ifname: string): void {
  if (typeof ifname !== "string" || ifname === "") throw new IpamError("interface name is empty", "CNI_IFNAME");
  if (Buffer.byteLength(ifname) > 15) throw new IpamError("interface name is too long", "CNI_IFNAME");
  if (ifname === "." || ifname === "..") throw new IpamError("interface name is . or ..", "CNI_IFNAME");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is rejected
  if (/[/:\s\u0000-\u001f\u007f]/.test(ifname)) {
    throw new IpamError(
      `interface name contains / or : or whitespace characters: ${JSON.stringify(ifname)}`,
      "CNI_IFNAME",
    );
  }
}
