// Addressing hot paths against ip-address (the edge library) and a linear scan.
// Run: pnpm --filter @knet/netstack run build && node packages/netstack/bench/addressing.bench.mjs
import { Addr, Prefix, PrefixTable, parseIPv4 } from "@knet/netstack";
import { Address4, Address6 } from "ip-address";
import { bench, do_not_optimize, group, runBench } from "../../../benchmarks/lib.mjs";

/** Deterministic pseudo-random uint32s (xorshift32). */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const next = rng(42);
const N = 1024;
const v4Texts = Array.from({ length: N }, (_, i) =>
  i % 2 === 0
    ? `10.${96 + (next() % 16)}.${next() % 256}.${next() % 256}`
    : `10.${next() % 96}.${next() % 256}.${next() % 256}`,
);
const v6Texts = Array.from({ length: N }, (_, i) =>
  i % 2 === 0
    ? `fd00:10:96::${(next() % 0xfffff)
        .toString(16)
        .replace(/(.{1,4})$/, ":$1")
        .replace(/^:/, "")}`
    : `fd00:10:97::${(next() % 0xffff).toString(16)}`,
);
const svc4 = Prefix.parse("10.96.0.0/12");
const svc6 = Prefix.parse("fd00:10:96::/108");
const svc4o = new Address4("10.96.0.0/12");
const svc6o = new Address6("fd00:10:96::/108");

let i = 0;
group("IPv4 parse+contains", () => {
  bench("knet Addr.parse + Prefix.contains", () => do_not_optimize(svc4.contains(Addr.parse(v4Texts[i++ & 1023]))));
  bench("knet parseIPv4 + Prefix.containsV4 (uint32, no object)", () =>
    do_not_optimize(svc4.containsV4(parseIPv4(v4Texts[i++ & 1023]))),
  );
  bench("ip-address new Address4 + isInSubnet", () =>
    do_not_optimize(new Address4(v4Texts[i++ & 1023]).isInSubnet(svc4o)),
  );
});
group("IPv6 parse+contains", () => {
  bench("knet Addr.parse + Prefix.contains", () => do_not_optimize(svc6.contains(Addr.parse(v6Texts[i++ & 1023]))));
  bench("ip-address new Address6 + isInSubnet", () =>
    do_not_optimize(new Address6(v6Texts[i++ & 1023]).isInSubnet(svc6o)),
  );
});

/** n random IPv4 prefixes of lengths 8..32 and probe addresses. */
function table(n) {
  const r = rng(n);
  const t = new PrefixTable();
  const list = [];
  while (t.size < n) {
    const len = 8 + (r() % 25);
    const p = Prefix.of(Addr.v4(r()), len, true);
    if (!t.has(p)) {
      t.insert(p, t.size);
      list.push([p.addr.w3, len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0, len, t.size - 1]);
    }
  }
  const probes = Uint32Array.from({ length: 4096 }, () => r());
  return { t, list, probes };
}

group("PrefixTable lookup (IPv4)", () => {
  bench("trie n=$n", function* (state) {
    const { t, probes } = table(state.get("n"));
    let k = 0;
    yield () => do_not_optimize(t.lookupV4(probes[k++ & 4095]));
  }).args("n", [1000, 10000, 100000]);
  bench("linear scan n=$n", function* (state) {
    const { list, probes } = table(state.get("n"));
    let k = 0;
    yield () => {
      const a = probes[k++ & 4095];
      let best = -1;
      let bestLen = -1;
      for (const [net, mask, len, v] of list) {
        if ((a & mask) >>> 0 === net && len > bestLen) {
          best = v;
          bestLen = len;
        }
      }
      return do_not_optimize(best);
    };
  }).args("n", [1000, 10000, 100000]);
});

const rows = await runBench("netstack-addressing");
const p50 = (re) => rows.find((r) => re.test(`${r.group} ${r.name}`))?.p50_ns;
const ratio = (a, b) => (p50(b) / p50(a)).toFixed(1);
console.log(
  `IPv4 parse+contains: knet Addr ${ratio(/IPv4.*knet Addr/, /IPv4.*ip-address/)}x, uint32 path ${ratio(/IPv4.*knet parseIPv4/, /IPv4.*ip-address/)}x faster than ip-address`,
);
console.log(`IPv6 parse+contains: knet ${ratio(/IPv6.*knet/, /IPv6.*ip-address/)}x faster than ip-address`);
for (const n of [1000, 10000, 100000]) {
  const t = p50(new RegExp(`trie n=${n}$`));
  console.log(
    `PrefixTable n=${n}: ${(1e3 / t).toFixed(1)} M lookups/s (linear scan ${(1e3 / p50(new RegExp(`linear scan n=${n}$`))).toFixed(3)} M/s)`,
  );
}
