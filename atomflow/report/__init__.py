"""The paper report: results/report.md + PNG figures, rebuilt from the store without recomputing."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from atomflow import __version__
from atomflow.errors import InputError
from atomflow.report import figures
from atomflow.report.collect import collect
from atomflow.report.markdown import (
    assessment,
    barrier_table,
    elastic_constants_table,
    hop_table,
    structure_text,
    vacancy_table,
    youngs_table,
)
from atomflow.results import Results
from atomflow.settings import get_settings
from atomflow.store import describe_store_uri


def write_report(store: str | None = None, directory: str | Path | None = None) -> Path:
    """Write ``report.md`` and its figures into ``directory`` (default: results/); returns the report path."""
    out = Path(directory) if directory else get_settings().results_dir
    out.mkdir(parents=True, exist_ok=True)
    study = collect(Results(store))
    if study.empty:
        raise InputError(f"The store {describe_store_uri(store)} holds no study results yet: run "
                         "`atomflow run paper` first (or pass --store).")
    figs = {
        "neb": figures.neb_profiles(study, out / "neb_profiles.png"),
        "curves": figures.stress_strain(study, out / "stress_strain.png"),
        "youngs": figures.youngs_moduli(study, out / "youngs_moduli.png"),
    }

    def figure(key: str, caption: str) -> str:
        path = figs[key]
        return f"![{caption}]({path.name})\n\n*{caption}*" if path else f"*{caption}: no data in the store.*"

    structures = "\n".join(f"- {system}: {structure_text(study, system)}" for system in study.labels)
    text = f"""# atomflow report: the Na–Sn / NaCl interphase study

Made {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC by atomflow {__version__} from the store
{describe_store_uri(store)} (nothing recomputed). Calculators: {", ".join(study.calculators)}.
Paper values: VASP/PBE (see ../shared/reference/paper.md); a committee of calculators shows mean ± half range over its converged, unflagged results
(flagged results are listed with their flags, never averaged in).

Structures:
{structures}

† = computed on a stand-in structure, not the paper's compound.

## Young's moduli

The paper does not say which average it used; its Na value (10.9 GPa) matches a Voigt-type average, so the
deviation column compares E_Voigt. All three averages are listed.

{youngs_table(study)}

{figure("youngs", "Young's moduli, paper vs atomflow (Voigt / Hill / Reuss)")}

### Elastic constants (GPa, relaxed ions, stress–strain fit)

{elastic_constants_table(study)}

{figure("curves", "Stress–strain curves along x, relaxed ions (as the paper's Fig. 2F)")}

## Na-vacancy migration barriers (CI-NEB, 5 images, k = 5 eV/Å², fmax 0.01 eV/Å)

{barrier_table(study)}

All computed hops:

{hop_table(study)}

{figure("neb", "Na-vacancy CI-NEB energy profiles, images marked (as the paper's Fig. 2E)")}

## Na-vacancy formation energy, E_f = E_d + n·μ − E_p

A neutral Na vacancy in NaCl computed with an ML potential is not the physical (charged) defect; the Schottky pair
(one Na and one Cl removed, μ_NaCl = bulk energy per formula unit) is, and is the value to compare with experiment.

{vacancy_table(study)}

## Where the ML potential agrees and where it is soft

{assessment(study)}
"""
    path = out / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)  # never leave a half-written report
    return path
