import { readFileSync } from "node:fs";
import { type KubeObject, type LoadOptions, loadManifests, ManifestError, type ManifestText } from "@knet/k8s";
import { CliError } from "./cli.js";

/**
 * Read `-f` files (`-` is stdin) as named manifest texts. A missing flag or an
 * unreadable file is a usage error (exit 2) naming the command and the file.
 */
export function readManifestTexts(files: readonly string[] | undefined, command: string): ManifestText[] {
  if (!files || files.length === 0)
    throw new CliError(`${command}: no input: give -f FILE (see 'knet ${command} --help')`, 2);
  return files.map((f) => {
    try {
      return { name: f === "-" ? "<stdin>" : f, text: readFileSync(f === "-" ? 0 : f, "utf8") };
    } catch (e) {
      throw new CliError(
        `${command}: cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        2,
      );
    }
  });
}

/** Read and load `-f` files into objects; a manifest problem is a usage error naming its document. */
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
