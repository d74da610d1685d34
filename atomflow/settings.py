"""One settings object for atomflow, read from ``ATOMFLOW_*`` environment variables when used.

Nothing here is read at import time: call :func:`get_settings` where a value is needed, so a
changed environment (a test's ``monkeypatch.setenv``, a cluster job's pre_run) is always seen.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from atomflow.errors import InputError


def _project_root() -> Path:
    # The checkout's root when run from a source tree (the README's `make run`), else the CWD.
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


class AtomflowSettings(BaseSettings):
    """Settings for atomflow. Every field can be set as ``ATOMFLOW_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="ATOMFLOW_", extra="ignore")

    results_dir: Path = Field(
        default_factory=lambda: _project_root() / "results",
        description="Directory for run outputs: the embedded store, reports, figures.",
    )
    store_uri: str | None = Field(
        default=None,
        description=(
            "Results store. None: the embedded file store under results_dir. "
            "'mongodb://…' / 'mongodb+srv://…': a MongoDB server. 'litemongo:///path/dir': an embedded "
            "store at that directory. 'memory://': an in-process store (tests)."
        ),
    )
    store_database: str = Field(default="atomflow", description="Database name inside the store.")
    default_calculator: str = Field(
        default="sevennet", min_length=1, description="Calculator used when none is given (name or 'name:arg')."
    )
    structures_dir: Path = Field(
        default_factory=lambda: _project_root() / "structures",
        description="Where input structures (and the cached COD download) live.",
    )
    workflows_dir: Path = Field(
        default_factory=lambda: _project_root() / "workflows",
        description="Folder of ready-to-run workflow definitions (`atomflow run NAME`).",
    )
    cod_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for the COD server, in s.")
    vasp_cmd: str = Field(default="vasp_std", description="Command that runs VASP (with its MPI launcher).")
    vasp_gamma_cmd: str | None = Field(
        default=None, description="Command for Γ-only runs (e.g. 'srun vasp_gam'); None: vasp_cmd.")
    vasp_max_errors: int = Field(default=5, ge=0, description="Errors custodian may correct per VASP run.")
    vasp_polling_interval: float = Field(
        default=10.0, gt=0, description="Seconds between custodian's checks of a running VASP, in s.")
    gpaw_cmd: str = Field(
        default="gpaw python",
        description="Command that runs a GPAW script (e.g. 'mpirun -np 2 gpaw python').",
    )
    phases: str | None = Field(
        default=None, description="Comma-separated reduced formulas a screening workflow (interphases) is "
        "limited to, e.g. 'Na,NaCl'; None: every phase.")
    torch_threads: int | None = Field(
        default=None, ge=1, description="torch.set_num_threads for ML potentials; None leaves torch's default."
    )


def get_settings() -> AtomflowSettings:
    """Read the settings now (environment + defaults); a bad variable is one InputError naming it."""
    try:
        return AtomflowSettings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            value = error.get("input")
            problems.append(f"ATOMFLOW_{field.upper()}={value!r}: {error['msg']}")
        raise InputError(f"Bad atomflow setting in the environment: {'; '.join(problems)}. Fix the variable or "
                         "unset it for the default (`atomflow --help` and atomflow/settings.py list them).") from None
