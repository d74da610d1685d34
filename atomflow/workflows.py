"""Find and load the ready-to-run workflow definitions in the project's `workflows/` folder, and build a
property's flow for the user's own structure files (:func:`property_flow`, :func:`flow_builder`).

Each definition is a Python file with ``make_flow(calculator: str | None) -> Flow``. Whatever goes wrong
in such a file (it does not import, has no or a wrong ``make_flow``, raises, returns no Flow) gives one
:class:`~atomflow.errors.InputError` that names the file and the line, instead of a traceback.
"""

from __future__ import annotations

import importlib.util
import inspect
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from atomflow.errors import AtomflowError, InputError
from atomflow.settings import get_settings

SIGNATURE_HINT = "def make_flow(calculator: str | None = None) -> Flow"


def workflow_names() -> list[str]:
    folder = get_settings().workflows_dir
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


@dataclass
class WorkflowDefinition:
    """A loaded workflow file; :meth:`make_flow` checks what the file's ``make_flow`` returns."""

    name: str
    path: Path
    module: ModuleType

    def make_flow(self, calculator: str | None = None) -> Any:
        from jobflow import Flow, Job

        function = self.module.make_flow
        try:
            flow = function(calculator)
        except AtomflowError:
            raise  # already one clear message (an unknown calculator, an element it cannot handle, …)
        except Exception as exc:
            raise InputError(f"make_flow in {self._where(exc)} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(flow, (Flow, Job)):
            line = inspect.getsourcelines(function)[1]
            raise InputError(f"make_flow in {self.path}:{line} returned {type(flow).__name__}, not a jobflow "
                             "Flow or Job: end it with `return Flow(jobs, name=...)`.")
        return flow

    def __getattr__(self, attribute: str) -> Any:  # other names the file defines (PAPER_PATHS, …)
        return getattr(self.module, attribute)

    def _where(self, exc: BaseException) -> str:
        """FILE:LINE of the deepest frame of the traceback inside the workflow file."""
        return f"{self.path}:{_line_in(self.path, exc) or '?'}"


def _line_in(path: Path, exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path.resolve():
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return frames[-1].lineno if frames else None


def load_workflow(name: str) -> WorkflowDefinition:
    path = get_settings().workflows_dir / f"{name}.py"
    if not path.is_file():
        raise InputError(
            f"Unknown workflow {name!r}. Available: {', '.join(workflow_names()) or 'none'} "
            f"(files in {path.parent}; set ATOMFLOW_WORKFLOWS_DIR to use another folder)."
        )
    spec = importlib.util.spec_from_file_location(f"atomflow_workflow_{name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except AtomflowError:
        raise
    except Exception as exc:
        line = _line_in(path, exc)
        raise InputError(f"Workflow file {path}:{line or '?'} does not import: {type(exc).__name__}: "
                         f"{getattr(exc, 'msg', None) or exc}.") from exc
    function = getattr(module, "make_flow", None)
    if not callable(function):
        raise InputError(f"Workflow file {path} has no make_flow function: add `{SIGNATURE_HINT}`.")
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        line = inspect.getsourcelines(function)[1]
        raise InputError(f"make_flow in {path}:{line} has the signature {inspect.signature(function)}; it must "
                         f"take the calculator as its one argument: `{SIGNATURE_HINT}`.") from None
    return WorkflowDefinition(name, path, module)


# --- one property on the user's own structures: `atomflow run elastic --structure FILE …` ---------------------

#: Property names `atomflow run` / `atomflow submit` accept with ``--structure`` (besides workflow files).
STRUCTURE_PROPERTIES = ("elastic", "vacancy", "migration", "phonons", "transport")


def property_flow(name: str, structures: list[Any], calculator: Any = None, species: str = "Na") -> Any:
    """One Flow: the property ``name`` for every structure (one sub-flow each), built from atomflow's Makers.

    Args:
        name: one of :data:`STRUCTURE_PROPERTIES`. ``transport`` = migration (CI-NEB of every distinct
            ``species``-vacancy hop) + Vineyard attempt frequencies + vacancy formation (thermal carriers,
            Schottky for ionic hosts) → :class:`~atomflow.transport.TransportMaker` on the relaxed bulk.
        structures: file paths (any format :func:`~atomflow.structures.files.read_structure_file` reads; the
            label is the file name's stem), pymatgen Structures (label: the formula) or LabelledStructures.
        calculator: a calculator spec (None: the settings' default).
        species: the hopping / removed element (vacancy, migration, transport).

    Every structure is read, ordered, validated and checked against the calculator and ``species`` by the
    Makers before any job exists: a bad input is one InputError/CalculatorError and nothing runs.
    """
    from jobflow import Flow

    if name not in STRUCTURE_PROPERTIES:
        raise InputError(f"Unknown property {name!r} for --structure; choose one of "
                         f"{', '.join(STRUCTURE_PROPERTIES)}.")
    phases = _labelled_structures(structures)
    flows = [_property_flow_one(name, phase, calculator, species) for phase in phases]
    return Flow(flows, name=f"{name}: {', '.join(p.label for p in phases)}")


def _labelled_structures(structures: list[Any]) -> list[Any]:
    from pymatgen.core import Structure

    from atomflow.structures import LabelledStructure, validate_structure
    from atomflow.structures.files import read_structure_file

    if not structures:
        raise InputError("No structure given: name at least one file, e.g. --structure my.cif.")
    out, seen = [], set()
    for item in structures:
        if isinstance(item, LabelledStructure):
            phase = item
        elif isinstance(item, Structure):
            validate_structure(item)
            phase = LabelledStructure(item, item.composition.reduced_formula, "given", stand_in=False)
        else:
            path = Path(item).expanduser()
            if path.resolve() in seen:
                raise InputError(f"{item} is given twice; name each structure file once.")
            seen.add(path.resolve())
            phase = read_structure_file(path)
        out.append(phase)
    labels = [p.label for p in out]
    for i, phase in enumerate(out):  # two files with one stem (a/POSCAR, b/POSCAR): label by the path
        if labels.count(phase.label) > 1 and phase.source.startswith("file "):
            from dataclasses import replace

            out[i] = replace(phase, label=phase.source[len("file "):])
    return out


def _property_flow_one(name: str, phase: Any, calculator: Any, species: str) -> Any:
    from dataclasses import replace

    from jobflow import Flow

    from atomflow.elastic import ElasticMaker
    from atomflow.neb import MigrationMaker
    from atomflow.phonons import PhononMaker
    from atomflow.vacancy import VacancyFormationMaker

    structure, label = phase.structure, phase.label
    common = {"calculator": calculator, "label": label, "stand_in": phase.stand_in}
    if name == "elastic":
        return ElasticMaker(name=f"elastic {label}", **common).make(structure)
    if name == "phonons":
        return PhononMaker(name=f"phonons {label}", **common).make(structure)
    if name == "vacancy":
        return VacancyFormationMaker(name=f"vacancy {label}", species=species, **common).make(structure)
    migration_maker = MigrationMaker(name=f"migration {label}", species=species, **common)
    if name == "migration":
        return migration_maker.make(structure)
    # transport: every piece is checked (make) before the flow exists
    from atomflow.rates import AttemptFrequencyMaker
    from atomflow.transport import TransportMaker

    vacancy = VacancyFormationMaker(name=f"vacancy {label}", species=species, **common).make(structure)
    migration = migration_maker.make(structure)
    rates = AttemptFrequencyMaker(name=f"attempt frequency {label}").make_many(migration.output)
    # the hops are indices of this structure; the solver takes lengths from the relaxed cell (the same relax
    # as the migration's own bulk relax: same structure, calculator and settings, so it is reused)
    bulk = replace(migration_maker.bulk_relax_maker, calculator=migration_maker.spec, label=label,
                   stand_in=phase.stand_in).make(structure)
    bulk.name = f"transport bulk relax {label}"
    transport = TransportMaker(name=f"transport {label}", species=species, label=label,
                               stand_in=phase.stand_in).make(bulk.output.structure, migration.output,
                                                             vacancy=vacancy.output,
                                                             attempt_frequencies=rates.output)
    return Flow([vacancy, migration, rates, bulk, transport], output=transport.output, name=f"transport {label}")


def flow_builder(name: str, structures: list[Any] | None = None, species: str | None = None) -> Any:
    """``calculator → Flow`` for `atomflow run` and `atomflow submit`: a workflow file, or a property on files.

    With ``structures``, ``name`` must be one of :data:`STRUCTURE_PROPERTIES`; the files are read, ordered and
    validated now, once for every calculator. Without, ``name`` is a workflow file (:func:`load_workflow`).
    """
    if structures:
        if name not in STRUCTURE_PROPERTIES:
            what = " (a workflow file that builds its own structures)" if name in workflow_names() else ""
            raise InputError(f"--structure goes with a property: {', '.join(STRUCTURE_PROPERTIES)}; "
                             f"{name!r}{what} is not one.")
        phases = _labelled_structures(list(structures))
        return lambda calculator: property_flow(name, phases, calculator, species or "Na")
    if species is not None:
        raise InputError("--species goes with --structure (the hopping element of a property run); workflow "
                         f"files such as {name!r} choose their own.")
    if name in STRUCTURE_PROPERTIES and not (get_settings().workflows_dir / f"{name}.py").is_file():
        raise InputError(f"{name!r} is a property: name the structure(s), e.g. "
                         f"`atomflow run {name} --structure my.cif more.cif`.")
    return load_workflow(name).make_flow
