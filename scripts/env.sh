# shellcheck shell=bash
# Sourced by the scripts and the test lanes: puts .venv first on PATH and points
# Ansible and Python at the collection through .cache/collections (made by scripts/setup).
UNDERLAY_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export UNDERLAY_REPO
export PATH="$UNDERLAY_REPO/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$UNDERLAY_REPO/.cache/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export PYTHONPATH="$UNDERLAY_REPO/.cache/collections${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_NOCOLOR=1
export ANSIBLE_FORCE_COLOR=0
export ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCAL_TEMP="${TMPDIR:-/tmp}/underlay-ansible-local"
export ANSIBLE_REMOTE_TEMP="${TMPDIR:-/tmp}/underlay-ansible-remote"
