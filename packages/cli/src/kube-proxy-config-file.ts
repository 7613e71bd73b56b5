/**
 * `--config FILE` of `knet proxy render|trace|run`: kube-proxy's own
 * KubeProxyConfiguration, read, defaulted and validated by `@knet/kube-proxy` as
 * kube-proxy does. A problem is a usage error listing every one (with its line),
 * except for fields a flag overrides (flags win, as kube-proxy merges them).
 */
import { readFileSync } from "node:fs";
import { type KubeProxyConfiguration, parseKubeProxyConfiguration } from "@knet/kube-proxy";
import { CliError } from "./cli.js";

/** The configuration fields each flag overrides. */
const OVERRIDES: Readonly<Record<string, readonly string[]>> = {
  mode: ["mode"],
  "cluster-cidr": ["clusterCIDR"],
  node: ["hostnameOverride"],
  "hostname-override": ["hostnameOverride"],
};

/** Read `file` (`-` for stdin); `values` are the command's flags, to drop problems of the fields they override. */
export function readKubeProxyConfigFile(
  file: string,
  values: Readonly<Record<string, unknown>>,
  command: string,
): KubeProxyConfiguration {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new CliError(`${command}: --config ${file}: ${(e as Error).message}`);
  }
  const overridden = new Set(
    Object.entries(OVERRIDES).flatMap(([flag, fields]) => (values[flag] !== undefined ? fields : [])),
  );
  const { config, problems } = parseKubeProxyConfiguration(text);
  const left = problems.filter((p) => !overridden.has(p.field));
  if (left.length > 0)
    throw new CliError(
      `${command}: --config ${file}: kube-proxy would not start with it:\n${left
        .map((p) => `  ${p.line !== undefined ? `line ${p.line}: ` : ""}${p.message}`)
        .join("\n")}`,
    );
  return config;
}
