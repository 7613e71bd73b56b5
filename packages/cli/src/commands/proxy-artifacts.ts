/**
 * What `knet proxy render` prints besides a mode's whole render: one artifact
 * alone (`--artifact`, ready to pipe into its tool) and, for iptables mode,
 * the payload with kube-proxy's bootstrap (`--bootstrap`). Keyed by the mode
 * names of `@knet/kube-proxy`'s registry; the descriptions come from there.
 */
import type { ProxyEngine } from "@knet/kube-proxy";
import { IptablesEngine } from "@knet/kube-proxy-iptables";
import { IpvsEngine } from "@knet/kube-proxy-ipvs";
import { CliError } from "../cli.js";

/** One payload `render --artifact NAME` prints alone: exactly what its tool reads. */
export interface ArtifactRenderer {
  /** The `--artifact` value. */
  readonly name: string;
  /** The registry's name of the artifact (its description is shown in the usage). */
  readonly artifact: string;
  /** The payload of the engine's last sync. */
  render(engine: ProxyEngine): string;
}

function ipvs(engine: ProxyEngine): IpvsEngine {
  if (!(engine instanceof IpvsEngine)) throw new CliError("proxy render: --artifact needs the ipvs engine");
  return engine;
}

/** `--artifact` renderers by mode; a mode that writes one artifact has none. */
export const ARTIFACTS: Readonly<Record<string, readonly ArtifactRenderer[]>> = {
  ipvs: [
    { name: "ipvsadm", artifact: "ipvsadm", render: (e) => ipvs(e).renderIpvsadmSave() },
    { name: "ipset", artifact: "ipset", render: (e) => ipvs(e).renderIpsets() },
    { name: "iptables", artifact: "iptables-restore", render: (e) => ipvs(e).renderIptables() },
    { name: "addresses", artifact: "ip-address", render: (e) => ipvs(e).renderDummyInterface() },
  ],
};

/**
 * `--bootstrap` by mode: the node's whole ruleset after kube-proxy's startup
 * (canary chains, jumps from INPUT/FORWARD/OUTPUT/PREROUTING/POSTROUTING) and
 * the payload, so the output alone loads with `iptables-restore`.
 */
export const BOOTSTRAPS: Readonly<Record<string, (engine: ProxyEngine) => string>> = {
  iptables: (engine) => {
    if (!(engine instanceof IptablesEngine)) throw new CliError("proxy render: --bootstrap needs the iptables engine");
    return engine.ruleset().save();
  },
};
