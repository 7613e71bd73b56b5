import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type KubeObject, type LoadOptions, loadManifests, ManifestError, type ManifestText } from "@knet/k8s";
import { CliError } from "./cli.js";

/**
 * Read `-f` inputs as named manifest texts: a file, `-` for stdin, or a
 * directory (like `kubectl -f DIR`: its .yaml, .yml and .json files in name
 * order). No input is a usage error (exit 2); an unreadable file exits with
 * `unreadableExit` (default 2), naming the command and the file.
 */
export function readManifestTexts(
  files: readonly string[] | undefined,
  command: string,
  unreadableExit = 2,
): ManifestText[] {
  if (!files || files.length === 0)
    throw new CliError(`${command}: no input: give -f FILE (see 'knet ${command} --help')`, 2);
  const texts: ManifestText[] = [];
  for (const f of files) {
    try {
      if (f === "-") {
        texts.push({ name: "<stdin>", text: readFileSync(0, "utf8") });
      } else if (statSync(f).isDirectory()) {
        for (const entry of readdirSync(f).sort()) {
          if (!/\.(ya?ml|json)$/.test(entry)) continue;
          const path = join(f, entry);
          texts.push({ name: path, text: readFileSync(path, "utf8") });
        }
      } else {
        texts.push({ name: f, text: readFileSync(f, "utf8") });
      }
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new CliError(`${command}: cannot read ${f}: ${why}`, unreadableExit);
    }
  }
  return texts;
}

/** Read and load `-f` inputs into objects; a manifest problem is a usage error naming its document. */
export function readObjects(
  files: readonly string[] | undefined,
  command: string,
  options: LoadOptions = {},
): KubeObject[] {
  const texts = readManifestTexts(files, command);
  try {
    return loadManifests(texts, options);
  } catch (e) {
    if (e instanceof ManifestError) throw new CliError(`${command}: ${e.message.split("\n")[0]}`, 2);
    throw e;
  }
}
