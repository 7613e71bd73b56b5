/**
 * The name checks libcni applies to container ids, network names and
 * interface names, with its error codes and messages.
 */
import { CniError, ErrorCode } from "./errors.js";

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Longest Linux interface name (IFNAMSIZ - 1). */
export const MAX_IFNAME_LENGTH = 15;

/**
 * A container id must be non-empty (code 3 `missing containerID`) and match
 * `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$` (code 4 `invalid characters in containerID`).
 * @throws {@link CniError}
 */
export function validateContainerId(id: string): void {
  if (id === "") throw new CniError(ErrorCode.UnknownContainer, "missing containerID", "", "CNI_CONTAINERID");
  if (!VALID_NAME.test(id)) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      "invalid characters in containerID",
      id,
      "CNI_CONTAINERID",
    );
  }
}

/**
 * A network name must be non-empty and match `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$` (code 7).
 * @throws {@link CniError}
 */
export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name", "", "name");
  if (!VALID_NAME.test(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name", name, "name");
  }
}

/**
 * An interface name must be 1-15 bytes, not `.` or `..`, without `/`, `:` or
 * whitespace (code 4, libcni's messages).
 * @throws {@link CniError}
 */
export function validateInterfaceName(name: string): void {
  const field = "CNI_IFNAME";
  if (name.length === 0)
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, "interface name is empty", "", field);
  if (Buffer.byteLength(name, "utf8") > MAX_IFNAME_LENGTH) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      "interface name is too long",
      `interface name should be less than ${MAX_IFNAME_LENGTH + 1} characters`,
      field,
    );
  }
  if (name === "." || name === "..") {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, "interface name is . or ..", "", field);
  }
  if (/[/:\s]/u.test(name)) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      "interface name contains / or : or whitespace characters",
      "",
      field,
    );
  }
}

/**
 * A plugin `type` is a bare executable name: non-empty, no `/` or `\\`, not
 * `.`/`..` and no `..` anywhere (so it can never leave the search path).
 * @throws {@link CniError} code 7 naming `field`.
 */
export function validatePluginType(type: string, field = "type"): void {
  if (type === "") throw new CniError(ErrorCode.InvalidNetworkConfig, `${field}: plugin type is empty`, "", field);
  if (/[/\\\0]/.test(type) || type.includes("..")) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `${field}: plugin type ${JSON.stringify(type)} must be a bare executable name (no '/' or '..')`,
      "",
      field,
    );
  }
}
