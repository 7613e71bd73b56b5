import type { CommandFamily } from "../cli.js";
import { cniCommand } from "./cni.js";
import { demoCommand } from "./demo.js";
import { dnsCommand } from "./dns.js";
import { gatewayCommand } from "./gateway.js";
import { ipamCommand } from "./ipam.js";
import { meshCommand } from "./mesh.js";
import { netpolCommand } from "./netpol.js";
import { proxyCommand } from "./proxy.js";
import { traceCommand } from "./trace.js";
import { validateCommand } from "./validate.js";

/**
 * Every `knet` subcommand family, in the order `knet --help` lists them.
 * A package issue adds its family here (one import, one entry).
 */
export const families: readonly CommandFamily[] = [
  demoCommand,
  traceCommand,
  cniCommand,
  validateCommand,
  netpolCommand,
  ipamCommand,
  proxyCommand,
  dnsCommand,
  gatewayCommand,
  meshCommand,
];
