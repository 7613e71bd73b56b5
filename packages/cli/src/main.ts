import { CliError, type CommandFamily, cliVersion, type Io } from "./cli.js";
import { families } from "./commands/index.js";
import { registerBundledModes } from "./engines.js";

function topUsage(list: readonly CommandFamily[]): string {
  const width = Math.max(...list.map((f) => f.name.length));
  const rows = list.map((f) => `  ${f.name.padEnd(width)}  ${f.summary}`).join("\n");
  return `knet: Kubernetes networking, rebuilt in TypeScript

Usage: knet <command> [flags]

Commands:
${rows}

Flags:
  --help      show help (also: knet <command> --help)
  --version   print the version
`;
}

/**
 * Run the `knet` command line with `argv` (the arguments after the program name).
 * Resolves to the process exit code; never throws for user errors, which are
 * printed as one line on stderr.
 */
export async function main(
  argv: readonly string[],
  io: Io,
  list: readonly CommandFamily[] = families,
): Promise<number> {
  registerBundledModes();
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    io.out(topUsage(list));
    return first === undefined ? 2 : 0;
  }
  if (first === "--version" || first === "-v" || first === "version") {
    io.out(`knet ${cliVersion()}\n`);
    return 0;
  }
  const family = list.find((f) => f.name === first);
  try {
    if (!family) throw new CliError(`unknown command '${first}' (see 'knet --help')`, 2);
    if (rest[0] === "--help" || rest[0] === "-h") {
      io.out(family.usage);
      return 0;
    }
    return await family.run(rest, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`knet: ${e.message}\n`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    io.err(`knet: ${msg.split("\n")[0]}\n`);
    return 1;
  }
}
