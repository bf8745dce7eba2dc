#!/usr/bin/env bash
# Runs the tests that need libtensorflow: the TensorFlow-tagged packages
# (tf/session: the regression fixture and, with GRAFTRAIN_TINY_MODEL, the
# tiny contract model) and the tagged graftrain binary's tests.
#
#   scripts/test-tensorflow.sh [go test flags]
#
# Needs the TensorFlow 2.18 C library (scripts/install-libtensorflow.sh, or
# the dev container of docs/containers.md). LIBTENSORFLOW names its prefix
# when it is not in the compiler's and loader's default paths (default
# /usr/local). GRAFTRAIN_TINY_MODEL names the tiny contract SavedModel made
# by graphs/python; without it those tests skip with a one-line reason.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${LIBTENSORFLOW:-/usr/local}
if [[ ! -e $prefix/include/tensorflow/c/c_api.h ]]; then
	echo "libtensorflow headers not found under $prefix/include; install them (scripts/install-libtensorflow.sh) or set LIBTENSORFLOW" >&2
	exit 2
fi
export CGO_ENABLED=1
export CGO_CFLAGS="${CGO_CFLAGS:-} -I$prefix/include"
export CGO_LDFLAGS="${CGO_LDFLAGS:-} -L$prefix/lib"
export LIBRARY_PATH="$prefix/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

echo "== type check of tagged code (no library needed)"
go run ./tools/tfcheck ./...

echo "== go vet -tags tensorflow"
go vet -tags tensorflow ./tf/... ./cmd/graftrain

echo "== go test -tags tensorflow"
if [[ -z ${GRAFTRAIN_TINY_MODEL:-} ]]; then
	echo "(GRAFTRAIN_TINY_MODEL not set: the tiny-model tests will skip)"
fi
go test -tags tensorflow -count=1 "$@" ./tf/... ./cmd/graftrain
