#!/bin/sh
# Checks that the committed protobuf Go code is what `go generate` produces
# from proto/: regenerates into a scratch copy of the module and diffs.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp "$root/go.mod" "$root/go.sum" "$tmp/"
cp -R "$root/proto" "$tmp/proto"
mkdir -p "$tmp/predictor/clarifai"
cp -R "$root/predictor/clarifai/clarifaipb" "$tmp/predictor/clarifai/clarifaipb"
find "$tmp/predictor/clarifai/clarifaipb" -name '*.pb.go' -delete

(cd "$tmp" && go generate ./predictor/clarifai/clarifaipb/...)

status=0
files=$(
	cd "$root" && find predictor/clarifai/clarifaipb -name '*.pb.go'
	cd "$tmp" && find predictor/clarifai/clarifaipb -name '*.pb.go'
)
for f in $(echo "$files" | sort -u); do
	if ! cmp -s "$root/$f" "$tmp/$f"; then
		echo "generated file differs: $f (run go generate ./predictor/clarifai/...)" >&2
		status=1
	fi
done
if [ "$status" -eq 0 ]; then
	echo "generated protobuf code is up to date"
fi
exit "$status"
