/**
 * A second, independent implementation of ip_vs_mh.c's table construction and
 * of the 64-bit kernel's hsiphash, written in C with the kernel's native types
 * (u64 SipHash rounds, u32 wrap-around of `offset + port + addr`), compiled
 * with gcc when it is present. It cross-checks the TypeScript port's
 * arithmetic (BigInt SipHash, 32-bit folds, modulo steps): for random server
 * sets and weights, both must build the same lookup table slot for slot.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Addr } from "@knet/netstack";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type MaglevHashing, VirtualServer } from "../src/index.js";

const C = String.raw`
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
typedef uint64_t u64; typedef uint32_t u32;
static u64 rol(u64 x, int b) { return (x << b) | (x >> (64 - b)); }
#define RND do { v0 += v1; v1 = rol(v1, 13); v1 ^= v0; v0 = rol(v0, 32); v2 += v3; v3 = rol(v3, 16); v3 ^= v2; \
  v0 += v3; v3 = rol(v3, 21); v3 ^= v0; v2 += v1; v1 = rol(v1, 17); v1 ^= v2; v2 = rol(v2, 32); } while (0)
/* lib/siphash.c, 64-bit: hsiphash of a 4-byte message is SipHash-1-3, truncated */
static u32 hsip4(u32 v, u64 k0, u64 k1) {
  u64 v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  u64 v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  u64 b = ((u64)4 << 56) | (u64)v; /* little-endian bytes of v */
  v3 ^= b; RND; v0 ^= b; v2 ^= 0xff; RND; RND; RND;
  return (u32)((v0 ^ v1) ^ (v2 ^ v3));
}
static int fls32(u32 x) { int r = 0; while (x) { r++; x >>= 1; } return r; }
static int gcd(int a, int b) { while (b) { int t = a % b; a = b; b = t; } return a; }
int main(int argc, char **argv) {
  int M = atoi(argv[1]), bits = atoi(argv[2]), n = (argc - 3) / 3;
  u32 addr[64]; int port[64], w[64];
  for (int i = 0; i < n; i++) { addr[i] = (u32)strtoul(argv[3 + 3*i], 0, 10); port[i] = atoi(argv[4 + 3*i]); w[i] = atoi(argv[5 + 3*i]); }
  const u64 h1 = 2654435761ULL, h2 = 2654446892ULL;
  int g = 0, mw = 0;
  for (int i = 0; i < n; i++) { if (w[i] > 0) g = g > 0 ? gcd(w[i], g) : w[i]; if (w[i] > mw) mw = w[i]; }
  int shift = g < 1 ? 0 : fls32((u32)(mw / g)) - bits; if (shift < 0) shift = 0;
  u32 off[64], skip[64], perm[64]; int turns[64];
  for (int i = 0; i < n; i++) {
    u32 key = 0 + (u32)port[i] + addr[i];
    off[i] = hsip4(key, h1, h1) % (u32)M;
    skip[i] = hsip4(key, h2, h2) % (u32)(M - 1) + 1;
    perm[i] = off[i];
    int t = g < 1 ? 0 : ((w[i] / g) >> shift);
    turns[i] = t ? t : (w[i] != 0);
  }
  int *table = calloc(M, sizeof(int)); char *used = calloc(M, 1);
  for (int i = 0; i < M; i++) table[i] = -1;
  if (g >= 1) {
    int filled = 0, count = 0, p = 0;
    while (filled < M) {
      if (p >= n) p = 0;
      while (p < n) {
        if (turns[p] < 1) { p++; continue; }
        u32 c = perm[p];
        while (used[c]) { perm[p] += skip[p]; if (perm[p] >= (u32)M) perm[p] -= M; c = perm[p]; }
        used[c] = 1; table[c] = p;
        if (++filled == M) goto done;
        if (++count >= turns[p]) { count = 0; p++; }
      }
    }
  }
done:
  for (int i = 0; i < M; i++) printf("%d\n", table[i]);
  printf("%u\n", hsip4(0x0a000001u, h1, h1));
  return 0;
}
`;

const gcc = spawnSync("sh", ["-c", "command -v gcc"], { stdio: "ignore" }).status === 0;
const dir = mkdtempSync(join(tmpdir(), "knet-mh-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!gcc)("mh against an independent C implementation", () => {
  const bin = join(dir, "mh");
  it("compiles", () => {
    writeFileSync(join(dir, "mh.c"), C);
    const r = spawnSync("gcc", ["-O1", "-o", bin, join(dir, "mh.c")], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  });

  it("builds the same lookup tables for random server sets (sizes 251 and 4093)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(251, 4093),
        fc.uniqueArray(
          fc.record({ a: fc.integer({ min: 0x0a000000, max: 0x0affffff }), port: fc.integer({ min: 1, max: 65535 }) }),
          { selector: (x) => `${x.a}/${x.port}`, minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 8, maxLength: 8 }),
        (size, servers, weights) => {
          const vs = new VirtualServer({
            protocol: "tcp",
            addr: Addr.parse("10.96.0.1"),
            port: 80,
            scheduler: "mh",
            mhTableSize: size,
          });
          // add in reverse so that the kernel list (head insertion) is `servers` in order
          for (let i = servers.length - 1; i >= 0; i--) {
            const s = servers[i] as { a: number; port: number };
            vs.addDest(Addr.v4(s.a), s.port, weights[i] ?? 1);
          }
          const table = (vs.scheduler as MaglevHashing).lookup;
          const index = new Map(vs.dests.map((d, i) => [d, i]));
          const bits = Math.trunc((8 + [251, 509, 1021, 2039, 4093].indexOf(size)) / 2);
          const args = [String(size), String(bits)];
          vs.dests.forEach((d) => {
            args.push(String(d.addr.w3), String(d.port), String(d.lastWeight));
          });
          const r = spawnSync(bin, args, { encoding: "utf8" });
          expect(r.status).toBe(0);
          const lines = r.stdout.trim().split("\n");
          const ours = table.map((d) => (d === undefined ? -1 : (index.get(d) as number)));
          expect(ours.join(",")).toBe(lines.slice(0, size).join(","));
        },
      ),
      { numRuns: 40 },
    );
  });
});
