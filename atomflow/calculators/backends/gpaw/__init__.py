"""GPAW plane-wave PBE (open source; runs here when installed): the backend.

Single points resolve to an ASE GPAW calculator. Relaxations and NEB bands go to :mod:`.driver`, which
runs the ASE driver it is handed (``ase_driver=``) with GPAW in a subprocess under MPI (``settings.gpaw_cmd``)
and fits cell volumes to an E–V curve. Defaults follow the paper (PBE, 550 eV).
"""

from __future__ import annotations

from typing import Any

from atomflow.calculators.backend import Backend, register
from atomflow.calculators.backends._dft import PAPER, check_dft_parameters
from atomflow.calculators.parameters import Parameter
from atomflow.errors import CalculatorError

#: How the driver relaxes a cell (parameter ``cell_relax``); the same as .driver.CELL_RELAX_MODES, which is
#: not imported here (the driver is loaded when used; importing it here would make an import cycle). A test
#: checks that the two agree.
CELL_RELAX_MODES = ("eos", "stress")


def _check_kpts(value: Any) -> str | None:
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"size", "density", "gamma", "even"})
        if unknown:
            return (f"as a mapping takes size, density, gamma, even (GPAW's kpts dict), got "
                    f"{', '.join(map(repr, unknown))}")
        return None
    if (len(value) != 3 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in value)):
        return f"must be three positive integers (a Monkhorst–Pack mesh), got {value}"
    return None


#: What _build_gpaw reads, then the GPAW keywords it passes on (GPAW's documented calculator parameters that
#: JSON can hold; ``mode`` is not one: the backend always runs plane waves, cutoff ``ecut``).
GPAW_PARAMETERS = (
    Parameter("ecut", float, "plane-wave cutoff (eV)", default=PAPER["ecut"], gt=0),
    Parameter("xc", str, "exchange–correlation functional (GPAW / libxc name)", default=PAPER["xc"]),
    Parameter("kpt_density", float,
              "k-points per Å⁻¹ (Γ-centred mesh following the cell), unless kpts is given",
              default=4.0, gt=0),
    Parameter("kpts", (list, dict), "k-point mesh, [n1, n2, n3] or GPAW's {\"density\": …, \"gamma\": …}",
              example="[8, 8, 8]", check=_check_kpts),
    Parameter("cell_relax", str, "how the driver relaxes a cell: E–V fit (eos) or the stress alone",
              default="eos", choices=CELL_RELAX_MODES),
    Parameter("txt", str, "GPAW's text log file; default none (the drivers log to their run directory)",
              example="gpaw.txt"),
    Parameter("occupations", dict,
              "occupation smearing, e.g. {\"name\": \"fermi-dirac\", \"width\": 0.1} (eV)",
              example='{"name": "fermi-dirac", "width": 0.1}'),
    Parameter("convergence", dict, "SCF convergence criteria (GPAW's convergence dict)",
              example='{"energy": 1e-6}'),
    Parameter("spinpol", bool, "spin-polarised calculation", example="true"),
    Parameter("charge", float, "total charge of the cell (e)", example="0"),
    Parameter("nbands", (int, str), "number of bands, or a share of the occupied ones ('150%')",
              example="150%"),
    Parameter("setups", (str, dict), "PAW setups, e.g. 'paw' or {\"Na\": \"1\"}", example="paw"),
    Parameter("basis", (str, dict), "LCAO basis for the initial wave functions, e.g. 'dzp'", example="dzp"),
    Parameter("mixer", dict, "density mixer settings (GPAW's mixer dict)", example='{"beta": 0.05}'),
    Parameter("maxiter", int, "maximum SCF iterations", ge=1, example="333"),
    Parameter("symmetry", (str, dict), "symmetry use: 'off' or GPAW's symmetry dict", example="off"),
    Parameter("hund", bool, "Hund's rule for the initial magnetic moments of single atoms", example="true"),
    Parameter("eigensolver", (str, dict), "eigensolver, e.g. 'rmm-diis' or 'davidson'", example="davidson"),
    Parameter("poissonsolver", dict, "Poisson solver settings (GPAW's dict)",
              example='{"dipolelayer": "xy"}'),
    Parameter("parallel", dict, "parallelisation over k-points, bands, domains (GPAW's parallel dict)",
              example='{"kpt": 4}'),
    Parameter("h", float, "real-space grid spacing of the density (Å)", gt=0, example="0.18"),
    Parameter("gpts", list, "real-space grid points [n1, n2, n3]", example="[48, 48, 48]"),
    Parameter("random", bool, "start from random wave functions", example="true"),
)


def _build_gpaw(params: dict[str, Any]):
    from gpaw import GPAW, PW

    p = {**PAPER, "kpt_density": 4.0, **params}
    p.pop("cell_relax", None)  # how the driver relaxes a cell, not a GPAW keyword
    kpts = p.pop("kpts", None) or {"density": float(p.pop("kpt_density")), "gamma": True}
    p.pop("kpt_density", None)
    if isinstance(kpts, dict) and kpts.get("density", 1) <= 0:
        raise CalculatorError("k-point density must be positive (points per Å⁻¹), e.g. gpaw:kpt_density=4.")
    ecut = float(p.pop("ecut"))
    # txt=None: no log file in whatever the current directory is; the driver's runs log to theirs.
    return GPAW(mode=PW(ecut), xc=p.pop("xc"), kpts=kpts, txt=p.pop("txt", None), **p)


def _gpaw_provenance(params: dict[str, Any]) -> dict[str, Any]:
    import importlib.metadata

    try:
        setups = f"gpaw-data {importlib.metadata.version('gpaw-data')}"
    except importlib.metadata.PackageNotFoundError:
        setups = None
    return {"model": "PBE plane waves", **PAPER, "kpt_density": 4.0, "setups": setups, **params}


def _relax(*args: Any, **kwargs: Any):
    from atomflow.calculators.backends.gpaw.driver import relax

    return relax(*args, **kwargs)


def _run_neb(*args: Any, **kwargs: Any):
    from atomflow.calculators.backends.gpaw.driver import run_neb

    return run_neb(*args, **kwargs)


register(
    Backend(
        name="gpaw",
        description="GPAW plane-wave PBE (open-source DFT; `make install-gpaw`)",
        build=_build_gpaw,
        elements=lambda params: None,
        modules=("gpaw",),
        extra="gpaw",
        parameters=GPAW_PARAMETERS,
        check_parameters=check_dft_parameters,
        install_hint="make install-gpaw (builds GPAW against Debian's libxc, FFTW, ScaLAPACK, OpenMPI)",
        distribution="gpaw",
        provenance=_gpaw_provenance,
        dft=True,
        drivers={"relax": _relax, "neb": _run_neb},
    )
)
