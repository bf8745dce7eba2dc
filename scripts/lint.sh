#!/usr/bin/env bash
# Lints what Go's tools don't see: shell scripts (shellcheck), the shell in
# the Dockerfile's RUN instructions (shellcheck, after extracting them), the
# Dockerfile's structure, and the Python exporter (py_compile and flake8).
# hadolint is not packaged by Debian; docs/containers.md lists the manual
# review that stands in for it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "shellcheck: scripts"
shellcheck scripts/*.sh

echo "shellcheck: Dockerfile RUN instructions"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Join continuation lines, keep RUN bodies in shell form, one script each.
awk '
	{ line = $0 }
	cont { body = body "\n" line }
	!cont && /^RUN / { body = substr(line, 5); start = NR }
	/^RUN / || cont { cont = (line ~ /\\$/) }
	!cont && body != "" {
		n++; file = sprintf("%s/run%02d.sh", dir, n)
		printf "#!/bin/sh\n# Dockerfile line %d\n%s\n", start, body > file
		close(file); body = ""
	}
' dir="$tmp" Dockerfile
# Build arguments and stage variables are set by docker, not the script.
shellcheck --shell=sh --exclude=SC2154 "$tmp"/run*.sh

echo "Dockerfile structure"
grep -q '^FROM .* AS runtime$' Dockerfile
grep -q '^USER graftrain$' Dockerfile
grep -q '^ENTRYPOINT \["graftrain"\]$' Dockerfile
grep -q 'go build -tags tensorflow' Dockerfile
grep -q 'install-libtensorflow.sh' Dockerfile
[[ $(grep -c '^FROM ' Dockerfile) -ge 6 ]]
if grep -nE '^(ADD|RUN .*curl .*\| *(sh|bash))' Dockerfile; then
	echo "Dockerfile: ADD or piping downloads into a shell is not allowed" >&2
	exit 1
fi

echo "python: py_compile and flake8"
python3 -m py_compile graphs/python/graftrain_export/*.py graphs/python/tests/*.py
if command -v flake8 >/dev/null; then
	flake8 --max-line-length 120 graphs/python
elif [[ -x /usr/bin/flake8 ]]; then
	/usr/bin/flake8 --max-line-length 120 graphs/python
else
	echo "flake8 not installed (scripts/install-deps.sh installs it)" >&2
	exit 1
fi
echo "lint: ok"
