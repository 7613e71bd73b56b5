import { fileURLToPath } from "node:url";
import type { MaglevConfig } from "./maglev.js";

/** Path of the BPF C program shipped with the package (`bpf/sock_lb.c`). */
export const SOCK_LB_SOURCE: string = fileURLToPath(new URL("../bpf/sock_lb.c", import.meta.url));

/** The attach types of the program, with the pinned program name of each. */
export const SOCK_LB_ATTACH: readonly { readonly attachType: string; readonly program: string }[] = [
  { attachType: "connect4", program: "sock4_connect" },
  { attachType: "sendmsg4", program: "sock4_sendmsg" },
  { attachType: "recvmsg4", program: "sock4_recvmsg" },
  { attachType: "getpeername4", program: "sock4_getpeername" },
  { attachType: "connect6", program: "sock6_connect" },
  { attachType: "sendmsg6", program: "sock6_sendmsg" },
  { attachType: "recvmsg6", program: "sock6_recvmsg" },
  { attachType: "getpeername6", program: "sock6_getpeername" },
];

/** Compile-time settings of the program. */
export interface SockLbBuildOptions {
  /** Maglev parameters: the table size and the jhash seeds of the 5-tuple hash. */
  readonly maglev: MaglevConfig;
  /** The default selection for services whose master entry says `undef`. */
  readonly defaultAlgorithm: "random" | "maglev";
  /** Output object file. */
  readonly output: string;
}

/**
 * The clang command line that builds the program (Debian: `clang`, `llvm`,
 * `libbpf-dev`): `[command, ...args]`.
 */
export function sockLbClangCommand(options: SockLbBuildOptions): string[] {
  const arch = process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  return [
    "clang",
    "-O2",
    "-g",
    "-Wall",
    "-target",
    "bpf",
    `-I/usr/include/${arch}`,
    `-DLB_MAGLEV_LUT_SIZE=${options.maglev.tableSize}`,
    `-DLB_DEFAULT_MAGLEV=${options.defaultAlgorithm === "maglev" ? 1 : 0}`,
    `-DHASH_INIT4_SEED=${options.maglev.seedJhash0}U`,
    `-DHASH_INIT6_SEED=${options.maglev.seedJhash1}U`,
    "-c",
    SOCK_LB_SOURCE,
    "-o",
    options.output,
  ];
}
