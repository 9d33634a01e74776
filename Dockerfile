# Image of the worker: a static Go binary on a distroless, non-root base.
#
# Written for both the legacy builder and BuildKit: no "# syntax=" line, no
# RUN --mount, no heredocs, no COPY --chmod/--link, no $BUILDPLATFORM.
# Base images are build arguments so that CI can build offline against
# local stand-ins (see .ci/docker-check.sh); pin them by tag, not digest.
#
# No HEALTHCHECK: distroless has no shell or HTTP client to run one. Probe
# GET /healthz (liveness) and GET /readyz (readiness) on port 9090 from the
# orchestrator instead (deploy/k8s/deployment.yaml).

ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
# Offline builds put a vendor/ directory in the context and pass
# --build-arg GO_MOD_DOWNLOAD=false; go build then uses vendor/ by itself.
COPY go.mod go.sum ./
ARG GO_MOD_DOWNLOAD=true
RUN if [ "$GO_MOD_DOWNLOAD" = true ]; then go mod download; fi
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/worker ./cmd/worker

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/worker /worker
# Numeric, so that Kubernetes runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
ENV WORKER_HTTP_ADDR=:9090
EXPOSE 9090
ENTRYPOINT ["/worker"]
CMD ["run"]
