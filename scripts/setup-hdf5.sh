#!/usr/bin/env bash
# The HDF5 C library the DAS readers link against (hdf5-metno finds it with pkg-config).
# Debian's libhdf5-dev (1.10.x) is the same library h5py and DASCore read vendor files with.
# Idempotent: does nothing when pkg-config already finds hdf5.
set -euo pipefail
if pkg-config --exists hdf5 2>/dev/null; then
  exit 0
fi
echo "installing libhdf5-dev (Debian package, HDF5 C library for the DAS readers)..." >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libhdf5-dev pkg-config >/dev/null
