// Running host-local implementations as CNI executables (ours and the real one).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const pkgDir = join(import.meta.dirname, "..");
export const ourBinary = join(pkgDir, "dist", "host-local.cjs");
export const realHostLocal = "/usr/lib/cni/host-local";
export const hasRealHostLocal = existsSync(realHostLocal);

/** Build dist/host-local.cjs when it is missing or older than the sources it bundles. */
export function ensureBuilt(): void {
  // The workspace build keeps a stamp of every input of the bundle and rebuilds only
  // what changed, so this is cheap when nothing did.
  const r = spawnSync(process.execPath, [join(pkgDir, "../../scripts/build.mjs"), "--js", "--quiet"], {
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`building knet-host-local failed: ${r.stderr || r.stdout}`);
}

export interface ExecOutcome {
  rc: number;
  stdout: unknown;
  stderr: string;
}

/** Run one CNI verb of a host-local binary with a minimal environment, as cni-oracle.sh does. */
export function execPlugin(
  binary: string,
  verb: string,
  config: unknown,
  cid: string,
  ifname: string,
  cniArgs = "",
): ExecOutcome {
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: verb,
    CNI_CONTAINERID: cid,
    CNI_NETNS: "/var/run/netns/knet-ipam-only",
    CNI_IFNAME: ifname,
    CNI_PATH: "/usr/lib/cni",
  };
  if (cniArgs !== "") env.CNI_ARGS = cniArgs;
  const cmd = binary.endsWith("js") ? process.execPath : binary;
  const args = binary.endsWith("js") ? [binary] : [];
  const r = spawnSync(cmd, args, { env, input: JSON.stringify(config), encoding: "utf8", timeout: 30_000 });
  const text = (r.stdout ?? "").trim();
  let stdout: unknown = text;
  if (text !== "") {
    try {
      stdout = JSON.parse(text);
    } catch {
      stdout = text;
    }
  }
  return { rc: r.status ?? -1, stdout, stderr: r.stderr ?? "" };
}

/**
 * Output normalised for comparison: error JSON without `cniVersion` (Go's
 * error type has none) and an empty `dns` dropped (lib 1.1 prints `"dns":{}`).
 */
export function normalizeOutput(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  const o = { ...(v as Record<string, unknown>) };
  if ("code" in o) delete o.cniVersion;
  if (typeof o.dns === "object" && o.dns !== null && Object.keys(o.dns).length === 0) delete o.dns;
  return o;
}
