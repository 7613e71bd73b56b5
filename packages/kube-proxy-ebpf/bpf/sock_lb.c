// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * knet socket-level service load balancer: the part of Cilium's datapath that
 * replaces kube-proxy for traffic from local processes (bpf/bpf_sock.c),
 * written for knet against the map layouts of Cilium's bpf/lib/lb.h.
 *
 *   cgroup/connect4,6   TCP/UDP connect(): service frontend -> backend
 *   cgroup/sendmsg4,6   unconnected UDP sendmsg(): frontend -> backend
 *   cgroup/recvmsg4,6   UDP recvmsg(): backend -> frontend (reverse)
 *   cgroup/getpeername4,6  getpeername(): backend -> frontend (reverse)
 *
 * Backend selection: a service whose master entry selects Maglev (or, with the
 * algorithm undefined, when the build default is Maglev and the service has a
 * Maglev table) picks the backend from its table at
 * hash(saddr, sport, dport, proto) % LB_MAGLEV_LUT_SIZE, Cilium's 5-tuple hash
 * (jhash_3words seeded with the second word of the Maglev seed; the source
 * port is that of the socket, 0 while unbound). Otherwise a random slot.
 *
 * Build: clang -O2 -g -target bpf -DLB_MAGLEV_LUT_SIZE=<M>
 *        -DLB_DEFAULT_MAGLEV=<0|1> -DHASH_INIT4_SEED=<u32> -DHASH_INIT6_SEED=<u32>
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef LB_MAGLEV_LUT_SIZE
#define LB_MAGLEV_LUT_SIZE 16381
#endif
#ifndef LB_DEFAULT_MAGLEV
#define LB_DEFAULT_MAGLEV 0
#endif
#ifndef HASH_INIT4_SEED
#define HASH_INIT4_SEED 0
#endif
#ifndef HASH_INIT6_SEED
#define HASH_INIT6_SEED 0
#endif
#ifndef LB_SERVICE_MAP_MAX_ENTRIES
#define LB_SERVICE_MAP_MAX_ENTRIES 262144
#endif
#ifndef LB_BACKEND_MAP_MAX_ENTRIES
#define LB_BACKEND_MAP_MAX_ENTRIES 262144
#endif
#ifndef LB_REV_NAT_MAP_MAX_ENTRIES
#define LB_REV_NAT_MAP_MAX_ENTRIES 65536
#endif

#define SYS_REJECT 0
#define SYS_PROCEED 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define ENXIO 6
#define ENOENT 2
#define EPERM 1

/* Service flags (lb{4,6}_service.flags | flags2 << 8), pkg/loadbalancer. */
#define SVC_FLAG_EXTERNAL_IP (1 << 0)
#define SVC_FLAG_NODEPORT (1 << 1)
#define SVC_FLAG_AFFINITY (1 << 4)
#define SVC_FLAG_SOURCE_RANGE (1 << 7)
#define SVC_FLAG2_TWO_SCOPES (1 << 5) /* bit 13 of the 16-bit word */
#define SVC_FLAG2_SOURCE_RANGE_DENY (1 << 6) /* bit 14 of the 16-bit word */

#define LB_ALGORITHM_SHIFT 24
#define AFFINITY_TIMEOUT_MASK ((1 << LB_ALGORITHM_SHIFT) - 1)
#define LB_SELECTION_RANDOM 1
#define LB_SELECTION_MAGLEV 2
#define BE_STATE_ACTIVE 0
#define NODEPORT_PORT_MIN 30000
#define NODEPORT_PORT_MAX 32767
#define LB_LOOKUP_SCOPE_EXT 0
#define LB_LOOKUP_SCOPE_INT 1

union v6addr {
	struct {
		__u32 p1, p2, p3, p4;
	};
	__u8 addr[16];
};

struct lb4_key {
	__be32 address;
	__be16 dport;
	__u16 backend_slot;
	__u8 proto;
	__u8 scope;
	__u8 pad[2];
};

struct lb6_key {
	union v6addr address;
	__be16 dport;
	__u16 backend_slot;
	__u8 proto;
	__u8 scope;
	__u8 pad[2];
};

struct lb_service {
	union {
		__u32 backend_id;
		__u32 affinity_timeout;
	};
	__u16 count;
	__u16 rev_nat_index; /* network byte order */
	__u8 flags;
	__u8 flags2;
	__u16 qcount;
};

struct lb4_backend {
	__be32 address;
	__be16 port;
	__u8 proto;
	__u8 flags;
	__u16 cluster_id;
	__u8 zone;
	__u8 pad;
};

struct lb6_backend {
	union v6addr address;
	__be16 port;
	__u8 proto;
	__u8 flags;
	__u16 cluster_id;
	__u8 zone;
	__u8 pad;
};

struct lb4_reverse_nat {
	__be32 address;
	__be16 port;
} __attribute__((packed));

struct lb6_reverse_nat {
	union v6addr address;
	__be16 port;
} __attribute__((packed));

struct lb_affinity_match {
	__u32 backend_id;
	__u16 rev_nat_id;
	__u16 pad;
};

struct lb_affinity_key {
	__u64 netns_cookie;
	__u16 rev_nat_id;
	__u8 flags;
	__u8 pad1;
	__u32 pad2;
};

struct lb_affinity_val {
	__u64 last_used;
	__u32 backend_id;
	__u32 pad;
};

struct lb4_src_range_key {
	__u32 prefixlen;
	__u16 rev_nat_id;
	__u16 pad;
	__be32 addr;
};

struct lb6_src_range_key {
	__u32 prefixlen;
	__u16 rev_nat_id;
	__u16 pad;
	union v6addr addr;
};

struct ipv4_revnat_tuple {
	__u64 cookie;
	__be32 address;
	__be16 port;
	__u16 pad;
};

struct ipv4_revnat_entry {
	__be32 address;
	__be16 port;
	__u16 rev_nat_index;
};

struct ipv6_revnat_tuple {
	__u64 cookie;
	union v6addr address;
	__be16 port;
	__u16 pad;
};

struct ipv6_revnat_entry {
	union v6addr address;
	__be16 port;
	__u16 rev_nat_index;
};

/*
 * One service's Maglev table. Cilium keeps it as the single value of a
 * one-entry array (u32[M]); knet splits it into chunks of
 * LB_MAGLEV_CHUNK IDs so that every chunk fits one `bpftool map update`
 * line (bpftool takes at most 4096 arguments per command).
 */
#define LB_MAGLEV_CHUNK 256
#define LB_MAGLEV_CHUNKS ((LB_MAGLEV_LUT_SIZE + LB_MAGLEV_CHUNK - 1) / LB_MAGLEV_CHUNK)

struct maglev_chunk {
	__u32 ids[LB_MAGLEV_CHUNK];
};

struct maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAGLEV_CHUNKS);
	__type(key, __u32);
	__uint(value_size, sizeof(struct maglev_chunk));
};

#define HASH_MAP(name, k, v, n)                                                \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                               \
		__type(key, k);                                                \
		__type(value, v);                                              \
		__uint(max_entries, n);                                        \
	} name SEC(".maps")

HASH_MAP(cilium_lb4_services_v2, struct lb4_key, struct lb_service, LB_SERVICE_MAP_MAX_ENTRIES);
HASH_MAP(cilium_lb6_services_v2, struct lb6_key, struct lb_service, LB_SERVICE_MAP_MAX_ENTRIES);
HASH_MAP(cilium_lb4_backends_v3, __u32, struct lb4_backend, LB_BACKEND_MAP_MAX_ENTRIES);
HASH_MAP(cilium_lb6_backends_v3, __u32, struct lb6_backend, LB_BACKEND_MAP_MAX_ENTRIES);
HASH_MAP(cilium_lb4_reverse_nat, __u16, struct lb4_reverse_nat, LB_REV_NAT_MAP_MAX_ENTRIES);
HASH_MAP(cilium_lb6_reverse_nat, __u16, struct lb6_reverse_nat, LB_REV_NAT_MAP_MAX_ENTRIES);
HASH_MAP(cilium_lb_affinity_match, struct lb_affinity_match, __u8, LB_BACKEND_MAP_MAX_ENTRIES);

#define LRU_MAP(name, k, v, n)                                                 \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);                           \
		__type(key, k);                                                \
		__type(value, v);                                              \
		__uint(max_entries, n);                                        \
	} name SEC(".maps")

LRU_MAP(cilium_lb4_affinity, struct lb_affinity_key, struct lb_affinity_val, 65536);
LRU_MAP(cilium_lb6_affinity, struct lb_affinity_key, struct lb_affinity_val, 65536);
LRU_MAP(cilium_lb4_reverse_sk, struct ipv4_revnat_tuple, struct ipv4_revnat_entry, 262144);
LRU_MAP(cilium_lb6_reverse_sk, struct ipv6_revnat_tuple, struct ipv6_revnat_entry, 262144);

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lb4_src_range_key);
	__type(value, __u8);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cilium_lb4_source_range SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lb6_src_range_key);
	__type(value, __u8);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cilium_lb6_source_range SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u16);
	__uint(max_entries, LB_REV_NAT_MAP_MAX_ENTRIES);
	__array(values, struct maglev_inner);
} cilium_lb4_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u16);
	__uint(max_entries, LB_REV_NAT_MAP_MAX_ENTRIES);
	__array(values, struct maglev_inner);
} cilium_lb6_maglev SEC(".maps");

/* Linux's jhash (include/linux/jhash.h), as Cilium's bpf/lib/jhash.h. */
static __always_inline __u32 rol32(__u32 w, __u32 s)
{
	return (w << s) | (w >> (32 - s));
}

#define __jhash_mix(a, b, c)                                                   \
	{                                                                      \
		a -= c; a ^= rol32(c, 4); c += b;                              \
		b -= a; b ^= rol32(a, 6); a += c;                              \
		c -= b; c ^= rol32(b, 8); b += a;                              \
		a -= c; a ^= rol32(c, 16); c += b;                             \
		b -= a; b ^= rol32(a, 19); a += c;                             \
		c -= b; c ^= rol32(b, 4); b += a;                              \
	}

#define __jhash_final(a, b, c)                                                 \
	{                                                                      \
		c ^= b; c -= rol32(b, 14);                                     \
		a ^= c; a -= rol32(c, 11);                                     \
		b ^= a; b -= rol32(a, 25);                                     \
		c ^= b; c -= rol32(b, 16);                                     \
		a ^= c; a -= rol32(c, 4);                                      \
		b ^= a; b -= rol32(a, 14);                                     \
		c ^= b; c -= rol32(b, 24);                                     \
	}

#define JHASH_INITVAL 0xdeadbeef

static __always_inline __u32 jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	initval += JHASH_INITVAL + (3 << 2);
	a += initval;
	b += initval;
	c += initval;
	__jhash_final(a, b, c);
	return c;
}

/* bpf/lib/hash.h: daddr excluded, ports and address as raw (network) words. */
static __always_inline __u32 hash_tuple_v4(__be32 saddr, __be16 sport, __be16 dport, __u8 proto)
{
	return jhash_3words(saddr, ((__u32)dport << 16) | sport, proto, HASH_INIT4_SEED);
}

static __always_inline __u32 hash_tuple_v6(const union v6addr *saddr, __be16 sport, __be16 dport, __u8 proto)
{
	__u32 a = saddr->p1, b = saddr->p2, c = saddr->p3;

	__jhash_mix(a, b, c);
	a += saddr->p4;
	b += ((__u32)dport << 16) | sport;
	c += proto;
	__jhash_mix(a, b, c);
	a += HASH_INIT6_SEED;
	__jhash_final(a, b, c);
	return c;
}

static __always_inline __u32 svc_algorithm(const struct lb_service *svc)
{
	__u32 alg = svc->affinity_timeout >> LB_ALGORITHM_SHIFT;

	if (alg == 0)
		alg = LB_DEFAULT_MAGLEV ? LB_SELECTION_MAGLEV : LB_SELECTION_RANDOM;
	return alg;
}

static __always_inline __u32 maglev_backend(void *outer, __u16 rev_nat_index, __u32 hash)
{
	struct maglev_chunk *chunk;
	__u32 index, chunk_index;
	void *inner;

	inner = bpf_map_lookup_elem(outer, &rev_nat_index);
	if (!inner)
		return 0;
	index = hash % LB_MAGLEV_LUT_SIZE;
	chunk_index = index / LB_MAGLEV_CHUNK;
	chunk = bpf_map_lookup_elem(inner, &chunk_index);
	if (!chunk)
		return 0;
	index %= LB_MAGLEV_CHUNK;
	/* Keep the bound check the compiler would drop: the verifier needs it. */
	asm volatile("" : "+r"(index));
	if (index >= LB_MAGLEV_CHUNK)
		return 0;
	return chunk->ids[index];
}

static __always_inline __u64 sock_select_slot(struct bpf_sock_addr *ctx)
{
	/* bpf_sock.c: random for TCP, the socket cookie for UDP. */
	return ctx->protocol == IPPROTO_TCP ? bpf_get_prandom_u32() : bpf_get_socket_cookie(ctx);
}

static __always_inline __u32 affinity_lookup(void *map, __u16 rev_nat_id, __u64 netns, __u32 timeout)
{
	struct lb_affinity_key key = { .netns_cookie = netns, .rev_nat_id = rev_nat_id, .flags = 1 };
	struct lb_affinity_match match = {};
	struct lb_affinity_val *val;

	val = bpf_map_lookup_elem(map, &key);
	if (!val)
		return 0;
	if (val->last_used + (__u64)timeout * 1000000000ULL <= bpf_ktime_get_ns()) {
		bpf_map_delete_elem(map, &key);
		return 0;
	}
	match.backend_id = val->backend_id;
	match.rev_nat_id = rev_nat_id;
	if (!bpf_map_lookup_elem(&cilium_lb_affinity_match, &match)) {
		bpf_map_delete_elem(map, &key);
		return 0;
	}
	return val->backend_id;
}

static __always_inline void affinity_update(void *map, __u16 rev_nat_id, __u64 netns, __u32 backend_id)
{
	struct lb_affinity_key key = { .netns_cookie = netns, .rev_nat_id = rev_nat_id, .flags = 1 };
	struct lb_affinity_val val = { .last_used = bpf_ktime_get_ns(), .backend_id = backend_id };

	bpf_map_update_elem(map, &key, &val, BPF_ANY);
}

static __always_inline int is_v4_loopback(__be32 a)
{
	return (a & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
}

static __always_inline struct lb_service *lookup_service4(struct lb4_key *key)
{
	struct lb_service *svc;

	/* lb4_lookup_service() with scope switch: local traffic of a
	 * two-scope service uses the internal-scope entry. */
	key->scope = LB_LOOKUP_SCOPE_EXT;
	svc = bpf_map_lookup_elem(&cilium_lb4_services_v2, key);
	if (svc && (svc->flags2 & SVC_FLAG2_TWO_SCOPES)) {
		key->scope = LB_LOOKUP_SCOPE_INT;
		svc = bpf_map_lookup_elem(&cilium_lb4_services_v2, key);
	}
	return svc;
}

static __always_inline int sock4_xlate_fwd(struct bpf_sock_addr *ctx)
{
	struct lb4_key key = {}, orig = {};
	struct lb_service *svc, *slot;
	struct lb4_backend *backend = 0;
	struct bpf_sock *sk = ctx->sk;
	__be32 saddr = 0;
	__be16 sport = 0;
	__u32 backend_id = 0, alg;
	__u64 netns;
	int from_affinity = 0;

	key.address = ctx->user_ip4;
	key.dport = (__be16)ctx->user_port;
	key.proto = (__u8)ctx->protocol;
	orig = key;
	if (sk) {
		saddr = sk->src_ip4;
		sport = bpf_htons((__u16)sk->src_port);
	}

	svc = lookup_service4(&key);
	if (!svc) {
		/* NodePort on loopback: the surrogate 0.0.0.0 entry (node
		 * addresses have their own entries). */
		__u16 port = bpf_ntohs(key.dport);

		if (port < NODEPORT_PORT_MIN || port > NODEPORT_PORT_MAX || !is_v4_loopback(key.address))
			return -ENXIO;
		key.address = 0;
		svc = lookup_service4(&key);
		if (!svc || !(svc->flags & SVC_FLAG_NODEPORT))
			return -ENXIO;
	}
	if (svc->count == 0)
		return -ENOENT;

	if (svc->flags & SVC_FLAG_SOURCE_RANGE) {
		struct lb4_src_range_key sk_key = {
			.prefixlen = 32 + 32,
			.rev_nat_id = svc->rev_nat_index,
			.addr = saddr,
		};
		int hit = bpf_map_lookup_elem(&cilium_lb4_source_range, &sk_key) != 0;

		if (hit == !!(svc->flags2 & SVC_FLAG2_SOURCE_RANGE_DENY))
			return -EPERM;
	}

	netns = bpf_get_netns_cookie(ctx);
	if (svc->flags & SVC_FLAG_AFFINITY) {
		backend_id = affinity_lookup(&cilium_lb4_affinity, svc->rev_nat_index, netns,
					     svc->affinity_timeout & AFFINITY_TIMEOUT_MASK);
		if (backend_id) {
			backend = bpf_map_lookup_elem(&cilium_lb4_backends_v3, &backend_id);
			if (backend)
				from_affinity = 1;
			else
				backend_id = 0;
		}
	}
	if (!backend_id) {
		alg = svc_algorithm(svc);
		if (alg == LB_SELECTION_MAGLEV)
			backend_id = maglev_backend(&cilium_lb4_maglev, svc->rev_nat_index,
						    hash_tuple_v4(saddr, sport, key.dport, key.proto));
		if (!backend_id) {
			key.backend_slot = (sock_select_slot(ctx) % svc->count) + 1;
			slot = bpf_map_lookup_elem(&cilium_lb4_services_v2, &key);
			if (!slot)
				return -ENOENT;
			backend_id = slot->backend_id;
		}
		backend = bpf_map_lookup_elem(&cilium_lb4_backends_v3, &backend_id);
	}
	if (!backend)
		return -ENOENT;
	if ((svc->flags & SVC_FLAG_AFFINITY) && !from_affinity)
		affinity_update(&cilium_lb4_affinity, svc->rev_nat_index, netns, backend_id);

	{
		struct ipv4_revnat_tuple rkey = {
			.cookie = bpf_get_socket_cookie(ctx),
			.address = backend->address,
			.port = backend->port,
		};
		struct ipv4_revnat_entry rval = {
			.address = orig.address,
			.port = orig.dport,
			.rev_nat_index = svc->rev_nat_index,
		};

		if (bpf_map_update_elem(&cilium_lb4_reverse_sk, &rkey, &rval, BPF_ANY) < 0)
			return -ENOENT;
	}
	ctx->user_ip4 = backend->address;
	ctx->user_port = (__u32)backend->port;
	return 0;
}

static __always_inline void sock4_xlate_rev(struct bpf_sock_addr *ctx)
{
	struct ipv4_revnat_tuple key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.address = ctx->user_ip4,
		.port = (__be16)ctx->user_port,
	};
	struct ipv4_revnat_entry *val;
	struct lb4_key skey = {};

	val = bpf_map_lookup_elem(&cilium_lb4_reverse_sk, &key);
	if (!val)
		return;
	skey.address = val->address;
	skey.dport = val->port;
	skey.proto = (__u8)ctx->protocol;
	/* Only while the service still exists (with the same ID). */
	if (!lookup_service4(&skey)) {
		skey.address = 0;
		if (!lookup_service4(&skey)) {
			bpf_map_delete_elem(&cilium_lb4_reverse_sk, &key);
			return;
		}
	}
	ctx->user_ip4 = val->address;
	ctx->user_port = (__u32)val->port;
}

SEC("cgroup/connect4")
int sock4_connect(struct bpf_sock_addr *ctx)
{
	sock4_xlate_fwd(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/sendmsg4")
int sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	sock4_xlate_fwd(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/recvmsg4")
int sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	sock4_xlate_rev(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername4")
int sock4_getpeername(struct bpf_sock_addr *ctx)
{
	sock4_xlate_rev(ctx);
	return SYS_PROCEED;
}

static __always_inline void ctx_get_v6(const struct bpf_sock_addr *ctx, union v6addr *a)
{
	a->p1 = ctx->user_ip6[0];
	a->p2 = ctx->user_ip6[1];
	a->p3 = ctx->user_ip6[2];
	a->p4 = ctx->user_ip6[3];
}

static __always_inline void ctx_set_v6(struct bpf_sock_addr *ctx, const union v6addr *a)
{
	ctx->user_ip6[0] = a->p1;
	ctx->user_ip6[1] = a->p2;
	ctx->user_ip6[2] = a->p3;
	ctx->user_ip6[3] = a->p4;
}

static __always_inline struct lb_service *lookup_service6(struct lb6_key *key)
{
	struct lb_service *svc;

	/* lb6_lookup_service() with scope switch: local traffic of a
	 * two-scope service uses the internal-scope entry. */
	key->scope = LB_LOOKUP_SCOPE_EXT;
	svc = bpf_map_lookup_elem(&cilium_lb6_services_v2, key);
	if (svc && (svc->flags2 & SVC_FLAG2_TWO_SCOPES)) {
		key->scope = LB_LOOKUP_SCOPE_INT;
		svc = bpf_map_lookup_elem(&cilium_lb6_services_v2, key);
	}
	return svc;
}

static __always_inline int sock6_xlate_fwd(struct bpf_sock_addr *ctx)
{
	struct lb6_key key = {};
	struct lb_service *svc, *slot;
	struct lb6_backend *backend = 0;
	struct bpf_sock *sk = ctx->sk;
	union v6addr saddr = {}, orig_addr;
	__be16 sport = 0, orig_port;
	__u32 backend_id = 0, alg;
	__u64 netns;
	int from_affinity = 0;

	ctx_get_v6(ctx, &key.address);
	key.dport = (__be16)ctx->user_port;
	key.proto = (__u8)ctx->protocol;
	orig_addr = key.address;
	orig_port = key.dport;
	if (sk) {
		saddr.p1 = sk->src_ip6[0];
		saddr.p2 = sk->src_ip6[1];
		saddr.p3 = sk->src_ip6[2];
		saddr.p4 = sk->src_ip6[3];
		sport = bpf_htons((__u16)sk->src_port);
	}

	svc = lookup_service6(&key);
	if (!svc) {
		__u16 port = bpf_ntohs(key.dport);

		if (port < NODEPORT_PORT_MIN || port > NODEPORT_PORT_MAX || key.address.p1 || key.address.p2 ||
		    key.address.p3 || key.address.p4 != bpf_htonl(1))
			return -ENXIO;
		key.address.p1 = 0;
		key.address.p2 = 0;
		key.address.p3 = 0;
		key.address.p4 = 0;
		svc = lookup_service6(&key);
		if (!svc || !(svc->flags & SVC_FLAG_NODEPORT))
			return -ENXIO;
	}
	if (svc->count == 0)
		return -ENOENT;

	if (svc->flags & SVC_FLAG_SOURCE_RANGE) {
		struct lb6_src_range_key sk_key = {
			.prefixlen = 32 + 128,
			.rev_nat_id = svc->rev_nat_index,
			.addr = saddr,
		};
		int hit = bpf_map_lookup_elem(&cilium_lb6_source_range, &sk_key) != 0;

		if (hit == !!(svc->flags2 & SVC_FLAG2_SOURCE_RANGE_DENY))
			return -EPERM;
	}

	netns = bpf_get_netns_cookie(ctx);
	if (svc->flags & SVC_FLAG_AFFINITY) {
		backend_id = affinity_lookup(&cilium_lb6_affinity, svc->rev_nat_index, netns,
					     svc->affinity_timeout & AFFINITY_TIMEOUT_MASK);
		if (backend_id) {
			backend = bpf_map_lookup_elem(&cilium_lb6_backends_v3, &backend_id);
			if (backend)
				from_affinity = 1;
			else
				backend_id = 0;
		}
	}
	if (!backend_id) {
		alg = svc_algorithm(svc);
		if (alg == LB_SELECTION_MAGLEV)
			backend_id = maglev_backend(&cilium_lb6_maglev, svc->rev_nat_index,
						    hash_tuple_v6(&saddr, sport, key.dport, key.proto));
		if (!backend_id) {
			key.backend_slot = (sock_select_slot(ctx) % svc->count) + 1;
			slot = bpf_map_lookup_elem(&cilium_lb6_services_v2, &key);
			if (!slot)
				return -ENOENT;
			backend_id = slot->backend_id;
		}
		backend = bpf_map_lookup_elem(&cilium_lb6_backends_v3, &backend_id);
	}
	if (!backend)
		return -ENOENT;
	if ((svc->flags & SVC_FLAG_AFFINITY) && !from_affinity)
		affinity_update(&cilium_lb6_affinity, svc->rev_nat_index, netns, backend_id);

	{
		struct ipv6_revnat_tuple rkey = {
			.cookie = bpf_get_socket_cookie(ctx),
			.address = backend->address,
			.port = backend->port,
		};
		struct ipv6_revnat_entry rval = {
			.address = orig_addr,
			.port = orig_port,
			.rev_nat_index = svc->rev_nat_index,
		};

		if (bpf_map_update_elem(&cilium_lb6_reverse_sk, &rkey, &rval, BPF_ANY) < 0)
			return -ENOENT;
	}
	ctx_set_v6(ctx, &backend->address);
	ctx->user_port = (__u32)backend->port;
	return 0;
}

static __always_inline void sock6_xlate_rev(struct bpf_sock_addr *ctx)
{
	struct ipv6_revnat_tuple key = {};
	struct ipv6_revnat_entry *val;
	struct lb6_key skey = {};

	key.cookie = bpf_get_socket_cookie(ctx);
	ctx_get_v6(ctx, &key.address);
	key.port = (__be16)ctx->user_port;
	val = bpf_map_lookup_elem(&cilium_lb6_reverse_sk, &key);
	if (!val)
		return;
	skey.address = val->address;
	skey.dport = val->port;
	skey.proto = (__u8)ctx->protocol;
	if (!lookup_service6(&skey)) {
		skey.address.p1 = 0;
		skey.address.p2 = 0;
		skey.address.p3 = 0;
		skey.address.p4 = 0;
		if (!lookup_service6(&skey)) {
			bpf_map_delete_elem(&cilium_lb6_reverse_sk, &key);
			return;
		}
	}
	ctx_set_v6(ctx, &val->address);
	ctx->user_port = (__u32)val->port;
}

SEC("cgroup/connect6")
int sock6_connect(struct bpf_sock_addr *ctx)
{
	sock6_xlate_fwd(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/sendmsg6")
int sock6_sendmsg(struct bpf_sock_addr *ctx)
{
	sock6_xlate_fwd(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/recvmsg6")
int sock6_recvmsg(struct bpf_sock_addr *ctx)
{
	sock6_xlate_rev(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername6")
int sock6_getpeername(struct bpf_sock_addr *ctx)
{
	sock6_xlate_rev(ctx);
	return SYS_PROCEED;
}

char _license[] SEC("license") = "Dual BSD/GPL";
