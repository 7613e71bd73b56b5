/** `kubernetes [ZONES...] { pods MODE; ttl N; endpoint_pod_names; ignore empty_service; namespaces NS...; noendpoints; fallthrough [ZONES...]; multicluster ZONES...; self_address IP... }` */
import { Addr } from "@knet/netstack";
import { ConfigError, type Directive, type Plugin } from "../../plugin.js";
import { KubernetesHandler } from "./handler.js";
import { type KubernetesOptions, type PodMode, resolveOptions } from "./options.js";

function noArgs(d: Directive): void {
  if (d.args.length > 0) throw new ConfigError(`kubernetes: "${d.name}" takes no arguments`, d.line);
}

/** Parse a kubernetes directive into options (zones default to the server block's). */
export function parseKubernetes(d: Directive, blockZones: readonly string[]): KubernetesOptions {
  const zones = d.args.length > 0 ? d.args : blockZones;
  let o: KubernetesOptions = { zones };
  for (const sub of d.block) {
    switch (sub.name) {
      case "pods": {
        const mode = sub.args[0];
        if (sub.args.length !== 1 || (mode !== "disabled" && mode !== "insecure" && mode !== "verified")) {
          throw new ConfigError("kubernetes: pods takes one of disabled, insecure, verified", sub.line);
        }
        o = { ...o, pods: mode as PodMode };
        break;
      }
      case "ttl": {
        const ttl = Number(sub.args[0]);
        if (sub.args.length !== 1 || !Number.isInteger(ttl) || ttl < 0 || ttl > 3600) {
          throw new ConfigError("kubernetes: ttl takes one integer in 0..3600", sub.line);
        }
        o = { ...o, ttl };
        break;
      }
      case "endpoint_pod_names":
        noArgs(sub);
        o = { ...o, endpointPodNames: true };
        break;
      case "ignore":
        if (sub.args.length !== 1 || sub.args[0] !== "empty_service") {
          throw new ConfigError("kubernetes: ignore takes exactly empty_service", sub.line);
        }
        o = { ...o, ignoreEmptyService: true };
        break;
      case "namespaces":
        if (sub.args.length === 0) throw new ConfigError("kubernetes: namespaces needs at least one name", sub.line);
        o = { ...o, namespaces: sub.args };
        break;
      case "noendpoints":
        noArgs(sub);
        o = { ...o, noEndpoints: true };
        break;
      case "fallthrough":
        o = { ...o, fallthrough: sub.args.length > 0 ? sub.args : ["."] };
        break;
      case "multicluster":
        // Without zones CoreDNS enables none (its default list is empty).
        o = { ...o, multicluster: sub.args };
        break;
      case "self_address":
        for (const a of sub.args) {
          if (!Addr.isValid(a)) throw new ConfigError(`kubernetes: self_address "${a}" is not an IP address`, sub.line);
        }
        o = { ...o, selfAddresses: sub.args.map((a) => Addr.parse(a).toString()) };
        break;
      default:
        throw new ConfigError(`kubernetes: unknown property "${sub.name}"`, sub.line);
    }
  }
  return o;
}

/** The `kubernetes` plugin. */
export const kubernetesPlugin: Plugin = {
  name: "kubernetes",
  setup(d, env) {
    let options: ReturnType<typeof resolveOptions>;
    try {
      options = resolveOptions(parseKubernetes(d, env.zones));
    } catch (e) {
      if (e instanceof RangeError) throw new ConfigError(e.message, d.line);
      throw e;
    }
    const handler = new KubernetesHandler(env.index, options);
    return { handler, ready: () => env.index.synced };
  },
};
