import type { PortmapHost } from "@knet/cni-spec";
import type { HookRegistration, Prefix } from "@knet/netstack";

/**
 * A portmap host whose hook registrations wait until the node's simulated
 * namespace exists: the CNI chain runs while the topology is still data.
 */
export class DeferredHooks implements PortmapHost {
  private readonly queued: { reg: HookRegistration; removed: boolean }[] = [];

  /** Queue a registration; the remover cancels it. */
  registerHook(reg: HookRegistration): () => void {
    const entry = { reg, removed: false };
    this.queued.push(entry);
    return () => {
      entry.removed = true;
    };
  }

  /** Registrations still wanted, in order. */
  pending(): HookRegistration[] {
    return this.queued.filter((q) => !q.removed).map((q) => q.reg);
  }
}

/** flannel's delegate conflist for a node: bridge + host-local + portmap, as flannel writes it. */
export function nodeConflist(podCidr: Prefix, mtu: number): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "cbr0",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        mtu,
        ipam: { type: "host-local", ranges: [[{ subnet: podCidr.toString() }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}
