/**
 * The proxy-mode registry: one entry per kube-proxy mode (name, engine factory,
 * artifact formats, description). Engine packages export their mode's entry;
 * whoever bundles engines (the CLI, a test, a benchmark) registers them, and
 * everything that offers a choice of modes (cluster, `knet proxy`, `knet trace`,
 * the benchmarks) reads this registry instead of a list of its own.
 */
import type { EngineOptions, ProxyEngine } from "./engine.js";

/** One artifact a mode writes for a real node (the `nft -f` script, `ipvsadm -R` input, ...). */
export interface ArtifactFormat {
  /** Short name, as the tool that reads it is called (`iptables-restore`, `nft`, `ipvsadm`, `ipset`). */
  readonly name: string;
  /** What the artifact is and which command loads it. */
  readonly description: string;
}

/** A kube-proxy mode as the registry knows it. */
export interface ProxyModeDefinition {
  /** The mode's name, as kube-proxy's `--proxy-mode` spells it (lowercase letters, digits, `-`). */
  readonly name: string;
  /** One line saying what the mode programs (shown in usage texts). */
  readonly description: string;
  /** The artifacts a sync writes, in the order `render()` prints them. */
  readonly artifacts: readonly ArtifactFormat[];
  /** Build an engine of this mode. */
  create(options: EngineOptions): ProxyEngine;
}

/** kube-proxy's default `--proxy-mode` on Linux. */
export const DEFAULT_PROXY_MODE = "iptables";

/** A mode name that is malformed, registered twice with different definitions, or not registered. */
export class ProxyModeError extends Error {
  override readonly name = "ProxyModeError";
  /** The mode name in question. */
  readonly mode: string;

  constructor(mode: string, message: string) {
    super(message);
    this.mode = mode;
  }
}

const MODE_NAME = /^[a-z][a-z0-9-]*$/;
const registry = new Map<string, ProxyModeDefinition>();

/**
 * Register a mode. Registering the same definition again is a no-op, so
 * bundles may overlap.
 * @throws {@link ProxyModeError} for a malformed name, or a different definition under a taken name.
 */
export function registerProxyMode(mode: ProxyModeDefinition): void {
  if (!MODE_NAME.test(mode.name))
    throw new ProxyModeError(
      mode.name,
      `proxy mode name ${JSON.stringify(mode.name)} is not lowercase letters, digits and '-' (e.g. "nftables")`,
    );
  const had = registry.get(mode.name);
  if (had === mode) return;
  if (had !== undefined)
    throw new ProxyModeError(
      mode.name,
      `proxy mode "${mode.name}" is already registered by another definition; register each mode once`,
    );
  registry.set(mode.name, mode);
}

/** The registered modes, in registration order. */
export function proxyModes(): readonly ProxyModeDefinition[] {
  return [...registry.values()];
}

/** The registered names, in registration order. */
export function proxyModeNames(): readonly string[] {
  return [...registry.keys()];
}

/** The mode called `name`, or `undefined` when none is registered under it. */
export function findProxyMode(name: string): ProxyModeDefinition | undefined {
  return registry.get(name);
}

/**
 * The mode called `name`.
 * @throws {@link ProxyModeError} naming the registered modes when there is none.
 */
export function proxyMode(name: string): ProxyModeDefinition {
  const mode = registry.get(name);
  if (mode === undefined) {
    const known = proxyModeNames();
    throw new ProxyModeError(
      name,
      `proxy mode ${JSON.stringify(name)} is not registered (registered: ${known.length > 0 ? known.join(", ") : "none"}); register its package's mode definition with registerProxyMode()`,
    );
  }
  return mode;
}
