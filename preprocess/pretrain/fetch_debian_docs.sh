#!/usr/bin/env bash
# Install offline English corpora for larger pretraining runs from Debian's package registry and print the
# build_corpus.py flags that read them:
#   python3.11-doc   the Python 3.11 documentation's reST sources   (/usr/share/doc/python3.11/html/_sources, *.rst.txt)
#   linux-doc-6.1    the Linux 6.1 kernel documentation             (/usr/share/doc/linux-doc-6.1/Documentation, *.rst.gz
#                    and *.txt.gz; translations/ holds non-English text and is excluded)
#
#   bash preprocess/pretrain/fetch_debian_docs.sh [python] [linux]      (no argument: both)
#
# As root it runs apt-get; otherwise it prints the command to run and exits 1. Debian 12 (bookworm) names.
set -euo pipefail

declare -A PACKAGE=([python]=python3.11-doc [linux]=linux-doc-6.1)
declare -A TREE=([python]=/usr/share/doc/python3.11/html/_sources [linux]=/usr/share/doc/linux-doc-6.1/Documentation)
declare -A FLAGS=([python]="" [linux]=" --exclude translations")

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(python linux)
missing=()
for name in "${wanted[@]}"; do
    if [ -z "${PACKAGE[$name]+x}" ]; then
        echo "error: $name: unknown corpus — use python and/or linux" >&2
        exit 2
    fi
    dpkg -s "${PACKAGE[$name]}" >/dev/null 2>&1 || missing+=("${PACKAGE[$name]}")
done

if [ ${#missing[@]} -gt 0 ]; then
    command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    if ! command -v apt-get >/dev/null; then
        echo "error: apt-get not found — these corpora come from Debian/Ubuntu packages: ${missing[*]}" >&2
        exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "not root: run this, then this script again:" >&2
        echo "  sudo sh -c '$command'" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

flags=""
for name in "${wanted[@]}"; do
    if [ ! -d "${TREE[$name]}" ]; then
        echo "error: ${TREE[$name]}: not found after installing ${PACKAGE[$name]} — list its files with dpkg -L ${PACKAGE[$name]}" >&2
        exit 1
    fi
    flags+=" --tree ${TREE[$name]}${FLAGS[$name]}"
done
echo "installed; pass to preprocess/pretrain/build_corpus.py:"
echo "  ${flags# }"
