import { CliError, type CommandFamily, cliVersion, ExitCode, type Io } from "./cli.js";
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
  -h, --help      show help (also: knet <command> --help, knet help <command>)
  -v, --version   print the version

Exit status (every command):
  0  success: allowed, connected, valid, rendered
  1  a negative answer: denied, not connected, problems found, a plugin or an
     allocation said no
  2  bad input or usage: unknown or repeated flag, unreadable file, unknown
     --node, an object skipped under --strict
  3  internal error (a bug in knet: please report it with the command line)

Objects that a command cannot use (unknown kinds, duplicates, objects the API
server or the component would reject) are listed on stderr with the reason and
skipped; --strict makes them an error (exit 2) instead.
`;
}

/** Whether `argv` asks for help: `-h`/`--help` anywhere before a `--`. */
function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

/**
 * Run the `knet` command line with `argv` (the arguments after the program name).
 * Resolves to the process exit code ({@link ExitCode}); never throws for user
 * errors, which are printed as one line on stderr.
 */
export async function main(
  argv: readonly string[],
  io: Io,
  list: readonly CommandFamily[] = families,
): Promise<number> {
  registerBundledModes();
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(topUsage(list));
    return ExitCode.usage;
  }
  if (first === "--help" || first === "-h") {
    io.out(topUsage(list));
    return ExitCode.ok;
  }
  if (first === "--version" || first === "-v" || first === "version") {
    io.out(`knet ${cliVersion()}\n`);
    return ExitCode.ok;
  }
  try {
    if (first === "help") {
      const [name] = rest;
      if (name === undefined) {
        io.out(topUsage(list));
        return ExitCode.ok;
      }
      const family = list.find((f) => f.name === name);
      if (!family) throw new CliError(`help: unknown command '${name}': use ${list.map((f) => f.name).join(", ")}`);
      io.out(family.usage);
      return ExitCode.ok;
    }
    const family = list.find((f) => f.name === first);
    if (!family) throw new CliError(`unknown command '${first}' (see 'knet --help')`);
    if (wantsHelp(rest)) {
      io.out(family.usage);
      return ExitCode.ok;
    }
    return await family.run(rest, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`knet: ${e.message}\n`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    io.err(`knet: internal error: ${msg.split("\n")[0]} (a bug in knet: please report it with the command line)\n`);
    return ExitCode.internal;
  }
}
