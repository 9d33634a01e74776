#!/usr/bin/env bash
# Checks the user-facing Dockerfile without a registry: it builds the image
# against local stand-ins for the golang and distroless base images, with
# vendored modules and no network, then starts it and polls /healthz.
#
# The stand-ins check stage wiring, COPY paths, build flags and that the
# binary runs as 65532 in a minimal root filesystem; they do not check the
# real base images' contents or BuildKit-only behaviour.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
id=${CI_RUN_ID:-$$}
builder_img=ci-local/go-builder:$id
runtime_img=ci-local/runtime:$id
image=imgpredict-worker:check-$id
container=worker-check-$id
work=$(mktemp -d)

cleanup() {
	docker rm -f "$container" >/dev/null 2>&1 || true
	docker rmi -f "$image" >/dev/null 2>&1 || true
	# The legacy builder keeps the build stage's layers as untagged images.
	if [ -f "$work/build.log" ]; then
		grep -oE -- '---> [0-9a-f]{12}' "$work/build.log" | awk '{print $2}' | tac |
			xargs -r docker rmi >/dev/null 2>&1 || true
	fi
	docker rmi -f "$builder_img" "$runtime_img" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

log() { printf '%s docker-check: %s\n' "$(date +%T)" "$*"; }

# Build context: a copy of the tree, so that vendoring never disturbs the
# working tree that others may be building in.
ctx=$work/ctx
mkdir -p "$ctx"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$ctx"
else
	tar -C "$repo" --exclude=./.git --exclude=./vendor -cf - . | tar -xf - -C "$ctx"
fi
log "vendoring modules"
(cd "$ctx" && go mod vendor)

# Stand-in builder: busybox for RUN's /bin/sh plus the host's Go toolchain.
goroot=$(go env GOROOT)
goversion=$(go env GOVERSION)
bb=$work/busybox
if command -v busybox >/dev/null && file -L "$(command -v busybox)" 2>/dev/null | grep -q 'statically linked'; then
	cp "$(command -v busybox)" "$bb"
else
	log "fetching busybox-static"
	(cd "$work" && apt-get download busybox-static >/dev/null)
	dpkg-deb -x "$work"/busybox-static_*.deb "$work/bbdeb"
	cp "$work/bbdeb/bin/busybox" "$bb"
fi
b=$work/builder
mkdir -p "$b"/{bin,tmp,etc/ssl/certs,usr/local,go}
chmod 1777 "$b/tmp"
cp "$bb" "$b/bin/busybox"
ln -s busybox "$b/bin/sh"
cp /etc/ssl/certs/ca-certificates.crt "$b/etc/ssl/certs/"
log "importing $builder_img ($goversion from the host)"
{
	tar -C "$b" -cf - .
} >"$work/builder.tar"
tar -C "$(dirname "$goroot")" --exclude="$(basename "$goroot")/test" \
	--transform "s,^$(basename "$goroot"),usr/local/go," -rf "$work/builder.tar" "$(basename "$goroot")"
docker import \
	-c 'ENV PATH=/usr/local/go/bin:/go/bin:/bin' -c 'ENV GOROOT=/usr/local/go' -c 'ENV GOPATH=/go' \
	-c 'ENV GOTOOLCHAIN=local' -c 'ENV GOPROXY=off' -c 'WORKDIR /go' \
	"$work/builder.tar" "$builder_img" >/dev/null

# Stand-in runtime: what distroless/static:nonroot offers the binary.
r=$work/runtime
mkdir -p "$r"/{tmp,etc/ssl/certs,home/nonroot}
chmod 1777 "$r/tmp"
chown 65532:65532 "$r/home/nonroot"
cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$r/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$r/etc/group"
tar -C "$r" -cf - . | docker import -c 'USER 65532:65532' -c 'ENV HOME=/home/nonroot' - "$runtime_img" >/dev/null

log "building $image with --network none"
docker build --network none \
	--build-arg GO_IMAGE="$builder_img" --build-arg RUNTIME_IMAGE="$runtime_img" \
	--build-arg GO_MOD_DOWNLOAD=false --build-arg VERSION=check -t "$image" "$ctx" | tee "$work/build.log"

user=$(docker image inspect -f '{{.Config.User}}' "$image")
[ "$user" = "65532:65532" ] || { log "image user is '$user', want 65532:65532"; exit 1; }
log "image size $(docker image inspect -f '{{.Size}}' "$image") bytes, user $user"

docker run --rm --network none "$image" --version

# The embedded JetStream server lets the worker become healthy with no broker.
docker run -d --name "$container" -p 127.0.0.1::9090 \
	-e WORKER_EMBEDDED=true -e WORKER_DATA_DIR=/tmp/worker -e LOG_LEVEL=info \
	"$image" >/dev/null
port=$(docker port "$container" 9090/tcp | head -n1 | sed 's/.*://')
deadline=$((SECONDS + 30))
until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
	if ((SECONDS > deadline)) || [ "$(docker inspect -f '{{.State.Running}}' "$container")" != true ]; then
		log "no healthy answer on /healthz"
		docker logs "$container" 2>&1 | tail -n 50
		exit 1
	fi
	sleep 0.5
done
log "/healthz answered: $(curl -fsS "http://127.0.0.1:$port/healthz")"

if command -v docker-compose >/dev/null; then
	docker-compose -f "$repo/deploy/docker-compose.yml" config -q
	log "deploy/docker-compose.yml parses"
fi
log "ok"
