#!/usr/bin/env bash
# Builds GPAW (open-source PAW DFT-PBE) into .venv against Debian's libxc, OpenBLAS, FFTW, ScaLAPACK
# and OpenMPI, and installs the PAW setups from the `gpaw-data` package (nothing is downloaded at run
# time). Idempotent: does nothing when the pinned gpaw already imports. Used by `make install-gpaw`.
#
# Why each piece (../shared/reference/gpaw.md): PyPI has only a source distribution, and a bare
# `pip install gpaw` fails without the MPI compiler; the siteconfig below turns on FFTW and ScaLAPACK
# and lists `blas` explicitly (without it the build silently goes without BLAS): 1.6-1.8x faster.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
GPAW_VERSION=${GPAW_VERSION:-26.7.0}
GPAW_DATA_VERSION=${GPAW_DATA_VERSION:-1.2.1}
PY="$VENV/bin/python"

[ -x "$PY" ] || { echo "install_gpaw: $PY not found; run 'make install' first" >&2; exit 1; }

if "$PY" - "$GPAW_VERSION" <<'EOF' 2>/dev/null
import importlib.metadata as md, sys
import gpaw, gpaw_data  # noqa: F401
sys.exit(0 if md.version("gpaw") == sys.argv[1] else 1)
EOF
then
    echo "install_gpaw: gpaw $GPAW_VERSION already installed"
    exit 0
fi

apt_pkgs=(libxc-dev libopenblas-dev libfftw3-dev libscalapack-openmpi-dev libopenmpi-dev openmpi-bin)
need_apt=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p"); done
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install_gpaw: needs the Debian packages ${need_apt[*]} (run as root, or ask an admin)" >&2
        exit 1
    fi
    echo "install_gpaw: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The build configuration GPAW's setup.py reads (GPAW_CONFIG); kept in the venv, next to what it built.
SITECONFIG="$VENV/gpaw-siteconfig.py"
cat > "$SITECONFIG" <<'EOF'
# GPAW build configuration for Debian 12 (written by scripts/install_gpaw.sh)
fftw = True
scalapack = True
# 'blas' must be listed: without it the build silently goes without BLAS (measured 1.6-1.8x slower)
libraries = ['xc', 'blas', 'fftw3', 'scalapack-openmpi']
EOF

echo "install_gpaw: building gpaw==$GPAW_VERSION (with MPI, FFTW, ScaLAPACK) and gpaw-data==$GPAW_DATA_VERSION"
GPAW_CONFIG="$PWD/$SITECONFIG" "$PY" -m pip --disable-pip-version-check -q install \
    --no-build-isolation "gpaw==$GPAW_VERSION" "gpaw-data==$GPAW_DATA_VERSION"

# Check: imports, the PAW setups are found, and the build has the features asked for.
"$PY" - <<'EOF'
from gpaw import __version__
from gpaw.utilities import compiled_with_sl
import gpaw.fftw as fftw

print(f"install_gpaw: gpaw {__version__}: scalapack={compiled_with_sl()}, fftw={fftw.have_fftw()}")
EOF
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$VENV/bin/gpaw" info | grep -Ei "MPI|BLAS|FFTW|scalapack|setups" || true
