#!/usr/bin/env bash
# Installs the TensorFlow C library (the version graft binds) from the
# official release tarball, after checking its SHA-256 against
# scripts/libtensorflow.sha256.
#
#   scripts/install-libtensorflow.sh [--variant cpu|gpu] [--prefix DIR] [--version V]
#   scripts/install-libtensorflow.sh --pin [--variant cpu|gpu] [--version V]
#
# --pin downloads the tarball, prints its SHA-256 and records it in
# scripts/libtensorflow.sha256 (trust on first use: compare the printed
# value with one you trust before committing it). LIBTENSORFLOW_SHA256 in
# the environment overrides the pinned value.
#
# The prefix defaults to /usr/local; ldconfig runs when the prefix is a
# system one. A tarball whose checksum is not pinned is refused: compute it
# from a download you trust, add the line to scripts/libtensorflow.sha256
# ("<sha256>  <file name>"), and run again.
set -euo pipefail

variant=cpu
prefix=/usr/local
version=2.18.0
pin=false
here=$(cd "$(dirname "$0")" && pwd)
sums="$here/libtensorflow.sha256"

while (($#)); do
	case $1 in
	--variant) variant=$2; shift 2 ;;
	--prefix) prefix=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	--pin) pin=true; shift ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "install-libtensorflow: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
case $variant in
cpu | gpu) ;;
*) echo "install-libtensorflow: --variant must be cpu or gpu, not $variant" >&2; exit 2 ;;
esac

file="libtensorflow-${variant}-linux-x86_64-${version}.tar.gz"
url="https://storage.googleapis.com/tensorflow/libtensorflow/${file}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if $pin; then
	echo "downloading $url"
	curl -fsSL --retry 3 -o "$tmp/$file" "$url"
	sum=$(sha256sum "$tmp/$file" | awk '{ print $1 }')
	grep -v "  $file\$" "$sums" >"$tmp/sums" || true
	echo "$sum  $file" >>"$tmp/sums"
	cp "$tmp/sums" "$sums"
	echo "pinned $sum  $file in $sums"
	exit 0
fi

want=${LIBTENSORFLOW_SHA256:-$(awk -v f="$file" '$2 == f { print $1 }' "$sums" 2>/dev/null || true)}
if [[ -z $want ]]; then
	echo "install-libtensorflow: no SHA-256 pinned for $file in $sums." >&2
	echo "Download it from $url over a connection you trust, run 'sha256sum $file'," >&2
	echo "add '<sha256>  $file' to $sums (or run with --pin), and run this script again." >&2
	exit 1
fi

echo "downloading $url"
curl -fsSL --retry 3 -o "$tmp/$file" "$url"
echo "$want  $tmp/$file" | sha256sum --check --quiet || {
	echo "install-libtensorflow: checksum mismatch for $file: refusing to install" >&2
	exit 1
}
mkdir -p "$prefix"
tar -C "$prefix" -xzf "$tmp/$file"
case $prefix in
/usr | /usr/local) command -v ldconfig >/dev/null && ldconfig ;;
*)
	echo "installed under $prefix; for builds and runs set:"
	echo "  export LIBRARY_PATH=$prefix/lib:\${LIBRARY_PATH:-} LD_LIBRARY_PATH=$prefix/lib:\${LD_LIBRARY_PATH:-} C_INCLUDE_PATH=$prefix/include:\${C_INCLUDE_PATH:-}"
	;;
esac
echo "libtensorflow $version ($variant) installed under $prefix"
