/**
 * `@knet/cli`: the `knet` command line, thin over the knet packages' public APIs.
 * Use the `knet` bin, or call {@link main} to embed it.
 *
 * @example
 * ```ts
 * import { main } from "@knet/cli";
 * const code = await main(["--version"], { out: console.log, err: console.error });
 * ```
 *
 * @module
 */

export type { CommandFamily, Io, OutputFormat, WritableLike } from "./cli.js";
export {
  CliError,
  cliVersion,
  ExitCode,
  formatStructured,
  OUTPUT_FLAGS,
  outputFormat,
  parseFlags,
  processIo,
} from "./cli.js";
export { registerBundledModes } from "./engines.js";
export { main } from "./main.js";
