#!/usr/bin/env bash
# The project's test command: formatting, vet, staticcheck, the unit and
# integration tests that run without TensorFlow, the type check of the
# TensorFlow-tagged code, and the lints of scripts, Dockerfile and exporter.
set -euo pipefail
cd "$(dirname "$0")/.."
gobin=$(go env GOPATH)/bin
export PATH="$PATH:$gobin"

step() { printf '\n== %s\n' "$*"; }

step gofmt
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step go vet
go vet ./...

step staticcheck
staticcheck ./...

step go test
go test -count=1 ./...

step "build without cgo (pure-Go JPEG decoder)"
CGO_ENABLED=0 go build ./...
CGO_ENABLED=0 go test -count=1 ./data/image

step "type check of TensorFlow-tagged code"
go run ./tools/tfcheck ./...

step lint
./scripts/lint.sh
