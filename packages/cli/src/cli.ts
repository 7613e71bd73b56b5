import { createRequire } from "node:module";
import { type ParseArgsConfig, parseArgs } from "node:util";

/** Where a command writes. Injected so tests can capture output. */
export interface Io {
  /** Write to standard output. */
  out(text: string): void;
  /** Write to standard error. */
  err(text: string): void;
}

/**
 * One subcommand family (`knet proxy`, `knet dns`, ...). Each package issue adds
 * one file under `src/commands/` and one line to the list in `commands/index.ts`.
 */
export interface CommandFamily {
  /** The word after `knet`. */
  readonly name: string;
  /** One line for `knet --help`. */
  readonly summary: string;
  /** Full usage text for `knet NAME --help`. */
  readonly usage: string;
  /** Run with the arguments after the family name; resolves to the exit code. */
  run(argv: readonly string[], io: Io): Promise<number>;
}

/**
 * An error meant for the user: printed as one line on stderr (`knet: message`)
 * with the given exit code (2 for usage errors, 1 otherwise).
 */
export class CliError extends Error {
  override readonly name = "CliError";
  /** Process exit code. */
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The CLI's version, read from its package.json. */
export function cliVersion(): string {
  const pkg = createRequire(import.meta.url)("../package.json") as { version: string };
  return pkg.version;
}

/**
 * `node:util` parseArgs with errors turned into usage errors (exit 2) that name
 * the flag and point at `--help`.
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: readonly string[],
  options: T,
  command: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new CliError(`${command}: ${msg.split("\n")[0]} (see 'knet ${command} --help')`, 2);
  }
}
