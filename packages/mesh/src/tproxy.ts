import { type CaptureConfig, isTproxy, resolveCaptureConfig } from "./config.js";

/**
 * The policy routing istio-iptables sets up beside TPROXY rules (upstream
 * `tools/common/tproxy.ConfigureRoutes`), as `ip` command arguments: the `::6`
 * passthrough address on `lo` when IPv6 is on, and, in TPROXY mode with inbound
 * ports captured, a rule sending packets with the TPROXY mark to the TPROXY table
 * whose default route is local (so marked packets are delivered to the proxy).
 * Empty when there is nothing to set up.
 */
export function tproxyRouteCommands(config: Partial<CaptureConfig> = {}): string[][] {
  const cfg = resolveCaptureConfig(config);
  const cmds: string[][] = [];
  if (cfg.enableIpv6) cmds.push(["-6", "addr", "add", "::6/128", "dev", "lo"]);
  if (cfg.inboundPortsInclude === "" || !isTproxy(cfg)) return cmds;
  const families = cfg.enableIpv6 ? (["-4", "-6"] as const) : (["-4"] as const);
  for (const f of families) {
    cmds.push([f, "rule", "add", "fwmark", cfg.inboundTProxyMark, "lookup", cfg.inboundTProxyRouteTable]);
  }
  for (const f of families) {
    const dst = f === "-4" ? "0.0.0.0/0" : "::/0";
    cmds.push([f, "route", "add", "local", dst, "dev", "lo", "table", cfg.inboundTProxyRouteTable]);
  }
  return cmds;
}
