// No public API throws a bare Error: each package throws its own typed error
// (CniError, IpamError, PolicyError, ManifestError, ClusterError ...) or, for a
// caller's misuse, a RangeError/TypeError, so callers can tell input problems
// from bugs. This scans every package's sources for `new Error(`.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url).pathname;

/** Where a bare Error is right, and why. */
const ALLOWED: Readonly<Record<string, string>> = {
  // The in-memory result cache stands in for node:fs, which throws Errors with a code.
  "packages/cni-spec/src/cache.ts": "memoryCacheFs emulates fs's ENOENT",
  // Thrown and caught on the next lines to join two failure paths into one message.
  "packages/cni-spec/src/internal/check.ts": "caught where it is thrown",
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

describe("error types", () => {
  it("no package source outside the allow-list constructs a bare Error", () => {
    const found: string[] = [];
    for (const pkg of readdirSync(join(root, "packages"))) {
      if (pkg === "testkit") continue; // test helpers, not a public API
      let files: string[];
      try {
        files = sources(join(root, "packages", pkg, "src"));
      } catch {
        continue;
      }
      for (const file of files) {
        const rel = file.slice(root.length);
        if (ALLOWED[rel] !== undefined) continue;
        readFileSync(file, "utf8")
          .split("\n")
          .forEach((line, i) => {
            if (/\bnew Error\(/.test(line)) found.push(`${rel}:${i + 1}: ${line.trim()}`);
          });
      }
    }
    expect(found).toEqual([]);
  });
});
