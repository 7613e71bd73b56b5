#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager v1.20.2 from Debian bookworm's
# `kubernetes` source package with Debian's Go, for the live test suite (a real API
# server on 127.0.0.1). The binaries are cached outside the clone, keyed by the
# source tarball's sha256 and this script's own hash, so a rerun on the same machine
# costs nothing and a changed recipe or source rebuilds. The Go build cache is kept
# beside them: a rebuild with a warm cache takes about a minute, a cold one ~17 min.
#
# Usage: scripts/k8s-apiserver-build.sh        prints the bin directory on stdout
# Env:   KNET_CACHE (default /var/cache/knet)  where binaries and the Go cache live
#        KNET_K8S_REBUILD=1                    ignore a cached build
# Facts and gotchas: ../shared/reference/real-apiserver.md.
set -euo pipefail
SELF=$(readlink -f "$0")
say() { printf '[k8s-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

CACHE=${KNET_CACHE:-/var/cache/knet}
WORK=$CACHE/k8s-src
mkdir -p "$WORK" "$CACHE/gocache"
export DEBIAN_FRONTEND=noninteractive

need=()
for pkg in golang-go etcd-server golang-github-modern-go-reflect2-dev openssl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "apt: installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# A private deb-src index: the system's apt sources stay untouched.
mkdir -p "$WORK/aptsrc/lists/partial"
cat >"$WORK/aptsrc/src.sources" <<'S'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
S
APTO=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$WORK/aptsrc" -o "Dir::State::Lists=$WORK/aptsrc/lists")
cd "$WORK"
tarball=$(ls kubernetes_*.orig.tar.gz 2>/dev/null | head -n1 || true)
if [ -z "$tarball" ]; then
  say "fetching the kubernetes source package (34 MB)"
  apt-get "${APTO[@]}" update -qq
  apt-get "${APTO[@]}" source --download-only kubernetes >/dev/null 2>&1
  tarball=$(ls kubernetes_*.orig.tar.gz | head -n1)
fi
key=$( (sha256sum "$tarball" | cut -c1-64; sha256sum "$SELF" | cut -c1-64) | sha256sum | cut -c1-16)
BIN=$CACHE/k8s-1.20.2-$key/bin
if [ -z "${KNET_K8S_REBUILD:-}" ] && [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ]; then
  say "cached: $BIN"
  echo "$BIN"
  exit 0
fi

K=kubernetes-1.20.2
if [ ! -d "$K" ]; then
  say "unpacking $tarball"
  tar xzf "$tarball"
fi
# Go >= 1.18 breaks the vendored modern-go/reflect2 v1.0.1 (mapiterinit): use Debian's 1.0.2.
V=$K/vendor/github.com/modern-go/reflect2
find "$V" \( -name '*.go' -o -name '*.s' \) -delete
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$V/"

# GOPATH mode, as 1.20's hack/lib/init.sh builds (its go.mod is untidy for module mode).
mkdir -p gp/src/k8s.io tools "$BIN.tmp"
ln -sfn "$WORK/$K" gp/src/k8s.io/kubernetes
export GOPATH=$WORK/gp GOCACHE=$CACHE/gocache GO111MODULE=off GOFLAGS= GOMAXPROCS=2 CGO_ENABLED=0 GOPROXY=off
cd gp/src/k8s.io/kubernetes
if [ ! -f pkg/generated/openapi/zz_generated.openapi.go ]; then
  say "generating the OpenAPI definitions (not in the tarball)"
  go build -o "$WORK/tools/openapi-gen" k8s.io/kubernetes/vendor/k8s.io/kube-openapi/cmd/openapi-gen
  find -H . -not \( \( -path ./_\* -o -path ./.\* -o -path ./vendor \) -prune \) -type f -name '*.go' \
    | sed 's|^./staging/src|vendor|; s|^./||' | grep -v -E '^vendor/k8s.io/(code-generator|sample-apiserver)/' \
    | xargs grep -l '^// *+k8s:' | xargs grep -l '+k8s:openapi-gen=' | xargs -n1 dirname | LC_ALL=C sort -u \
    | sed 's|^|k8s.io/kubernetes/|' | paste -sd, >"$WORK/openapi-dirs.txt"
  "$WORK/tools/openapi-gen" --logtostderr -i "$(cat "$WORK/openapi-dirs.txt")" -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r "$WORK/openapi-report.txt" 2>/dev/null
fi
# /version is served from client-go's copy of the version package: stamp both.
LDF="-s -w"
for VP in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  LDF="$LDF -X $VP.gitVersion=v1.20.2 -X $VP.gitMajor=1 -X $VP.gitMinor=20 -X $VP.gitTreeState=clean"
done
for c in kube-apiserver kube-controller-manager; do
  say "go build $c (cold: ~16 min for the apiserver, ~2 min more for the controller manager; warm: seconds)"
  t0=$(date +%s)
  nice -n 10 go build -trimpath -ldflags="$LDF" -o "$BIN.tmp/$c" "k8s.io/kubernetes/cmd/$c"
  say "$c built in $(( $(date +%s) - t0 )) s"
done
rm -rf "$BIN"
mv "$BIN.tmp" "$BIN"
echo "$BIN"
