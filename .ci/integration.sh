#!/usr/bin/env bash
# Runs the testcontainers integration suite against the local Docker
# Engine, offline: the reaper is off (its image cannot be pulled), so this
# script removes what a cut-short run leaves behind, by session label for
# containers and networks and by name for the images the suite builds.
set -euo pipefail

cd "$(dirname "$0")/.."

export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_SESSION_ID=${TESTCONTAINERS_SESSION_ID:-ci-$$-$(date +%s)}
session=$TESTCONTAINERS_SESSION_ID

cleanup() {
	local label=org.testcontainers.sessionId=$session
	docker ps -aq --filter "label=$label" | xargs -r docker rm -fv >/dev/null 2>&1 || true
	docker network ls -q --filter "label=$label" | xargs -r docker network rm >/dev/null 2>&1 || true
	docker images --format '{{.Repository}}:{{.Tag}}' 'imgpredict-it/*' |
		grep -F ":$session" | xargs -r docker rmi -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

# CI=true makes the suite fail, not skip, when Docker is unreachable.
go test -tags integration -count=1 -timeout 20m -v ./integration/... 2>&1 |
	grep -vE '^=== (RUN|PAUSE|CONT)'
