import { createRequire } from "node:module";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { stringify } from "yaml";

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
  /** Full usage text for `knet NAME --help` (and `knet NAME SUB --help`, `knet help NAME`). */
  readonly usage: string;
  /** Run with the arguments after the family name; resolves to the exit code. */
  run(argv: readonly string[], io: Io): Promise<number>;
}

/**
 * The exit codes of every `knet` command, one scheme for all of them (listed in
 * `knet --help`).
 */
export const ExitCode = {
  /** Success: the answer is yes (allowed, connected, valid, rendered). */
  ok: 0,
  /** A negative answer: denied, not connected, problems found, a plugin or an allocation said no. */
  negative: 1,
  /** Bad input or usage: unknown flag, unreadable file, a manifest that cannot be read, `--strict` skips. */
  usage: 2,
  /** An internal error: a bug in knet. */
  internal: 3,
} as const;

/**
 * An error meant for the user: printed as one line on stderr (`knet: message`)
 * with the given exit code ({@link ExitCode}: 2, bad input or usage, unless
 * given; 1 for a negative answer).
 */
export class CliError extends Error {
  override readonly name = "CliError";
  /** Process exit code. */
  readonly exitCode: number;

  constructor(message: string, exitCode: number = ExitCode.usage) {
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
 * the flag and point at `--help`. A flag that takes one value and is given twice
 * (`--mode iptables --mode ipvs`) is an error rather than "the last one wins".
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: readonly string[],
  options: T,
  command: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true; tokens: true }>
  >;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new CliError(`${command}: ${msg.split("\n")[0]} (see 'knet ${command} --help')`, ExitCode.usage);
  }
  const seen = new Map<string, string[]>();
  for (const t of parsed.tokens) {
    if (t.kind !== "option" || options[t.name]?.multiple === true) continue;
    const given = seen.get(t.name) ?? [];
    given.push(t.value ?? t.rawName);
    seen.set(t.name, given);
    if (given.length === 2) {
      const values = options[t.name]?.type === "string" ? ` (${given.map((v) => `'${v}'`).join(", ")})` : "";
      throw new CliError(`${command}: --${t.name} given twice${values}: give it once`, ExitCode.usage);
    }
  }
  return { values: parsed.values, positionals: parsed.positionals } as ReturnType<
    typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
  >;
}

/** What `-o`/`--output` asks for; `text` is the default human output. */
export type OutputFormat = "text" | "json" | "yaml" | "wide";

/**
 * The output flags of commands that print structured results, as kubectl has them:
 * `-o json|yaml|wide` (`--output`), and `--json` kept as an alias of `-o json`.
 */
export const OUTPUT_FLAGS = {
  output: { type: "string", short: "o" },
  json: { type: "boolean" },
} as const;

/**
 * The `-o` format a command was given. `allowed` lists what the command can print
 * besides text; anything else is a usage error naming them (as kubectl's "unable
 * to match a printer suitable for the output format").
 */
export function outputFormat(
  values: { readonly output?: string | undefined; readonly json?: boolean | undefined },
  command: string,
  allowed: readonly Exclude<OutputFormat, "text">[],
): OutputFormat {
  if (values.json === true && values.output !== undefined && values.output !== "json")
    throw new CliError(`${command}: --json and -o ${values.output} disagree: give one`, ExitCode.usage);
  const format = values.json === true ? "json" : (values.output ?? "text");
  if (format !== "text" && !(allowed as readonly string[]).includes(format))
    throw new CliError(
      `${command}: unknown output format '${format}': use -o ${allowed.join("|")} (see 'knet ${command} --help')`,
      ExitCode.usage,
    );
  return format as OutputFormat;
}

/**
 * `value` as JSON (two-space indent) or as YAML, ending with a newline. YAML
 * holds the same data as the JSON (values with `toJSON` are converted first).
 */
export function formatStructured(value: unknown, format: "json" | "yaml"): string {
  const json = JSON.stringify(value, null, 2);
  if (format === "json") return `${json}\n`;
  return stringify(JSON.parse(json), { lineWidth: 0 });
}

/** A stream `processIo` writes to (process.stdout, or a pipe in tests). */
export interface WritableLike {
  /** Write text. */
  write(text: string): unknown;
  /** Subscribe to write errors. */
  on(event: "error", listener: (e: NodeJS.ErrnoException) => void): unknown;
}

/**
 * An {@link Io} over real streams that ends quietly when the reader goes away:
 * after EPIPE on stdout (`knet proxy render | head`), the rest of the output is
 * dropped without a stack trace. Other write errors are reported on stderr once.
 */
export function processIo(stdout: WritableLike, stderr: WritableLike): Io {
  let closed = false;
  stdout.on("error", (e) => {
    if (!closed && e.code !== "EPIPE") stderr.write(`knet: cannot write output: ${e.code ?? e.message}\n`);
    closed = true;
  });
  stderr.on("error", () => {});
  return {
    out: (t) => {
      if (!closed) stdout.write(t);
    },
    err: (t) => {
      stderr.write(t);
    },
  };
}
