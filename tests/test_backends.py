"""Backends: the calculator layer's import graph, and a backend added from outside by one registration."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.lj import LennardJones
from typer.testing import CliRunner

import atomflow.calculators as calculators
from atomflow.calculators import (
    Backend,
    CalculatorSpec,
    batch_evaluator,
    batch_pays,
    can_batch,
    check_elements,
    clear_cache,
    driver,
    formal_charges,
    get_calculator,
    is_dft,
    register,
    unregister,
)
from atomflow.errors import CalculatorError

PACKAGE = Path(calculators.__file__).parent
FORBIDDEN = ("atomflow.dft", "atomflow.neb", "atomflow.jobs")


# --- the import graph of atomflow/calculators -------------------------------------------------------

def _module_name(path: Path, root: Path) -> str:
    parts = ["atomflow", "calculators", *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    names = {f: _module_name(f, root) for f in sorted(root.rglob("*.py"))}
    return {name: _imports(f, name, set(names.values())) for f, name in names.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the graph's own modules, as a path a → … → a; None if there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node] & graph.keys()):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def forbidden_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} imports {i}" for m, deps in graph.items() for i in deps
                  if any(i == f or i.startswith(f + ".") for f in FORBIDDEN))


def test_calculator_layer_imports_no_domain_code_and_has_no_cycle():
    graph = import_graph()
    assert len(graph) >= 20 and "atomflow.calculators.backends.vasp.neb" in graph  # the drivers are in it
    assert forbidden_imports(graph) == []
    assert find_cycle(graph) is None


def test_the_graph_check_sees_a_cycle_and_an_upward_import(tmp_path):
    # A copy of the package with one added function-level import each way: both must be caught.
    import shutil

    copy = tmp_path / "atomflow" / "calculators"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    env = copy / "backends" / "vasp" / "environment.py"
    env.write_text(env.read_text() + "\n\ndef _late():\n    from atomflow.calculators import CalculatorSpec\n"
                   "    from atomflow.jobs.ase_run import relax\n")
    graph = import_graph(copy)
    cycle = find_cycle(graph)
    assert cycle is not None and "atomflow.calculators.backends.vasp.environment" in cycle
    assert forbidden_imports(graph) == [
        "atomflow.calculators.backends.vasp.environment imports atomflow.jobs.ase_run"]


# --- a toy backend registered from here, used through every public entry point ----------------------

TOY_ELEMENTS = frozenset({"Ar", "Kr"})


def _toy_build(params):
    return LennardJones(sigma=params.get("sigma", 3.4), epsilon=params.get("epsilon", 0.0104), rc=7.0)


def _toy_evaluator(calc):
    def evaluate(images):
        out = []
        for atoms in images:
            atoms = atoms.copy()
            atoms.calc = LennardJones(**{k: calc.parameters[k] for k in ("sigma", "epsilon", "rc")})
            out.append((atoms.get_potential_energy(), atoms.get_forces()))
        return out

    return evaluate


def _toy_check(params):
    if params.get("sigma", 1.0) <= 0:
        raise CalculatorError(f"toy_lj: sigma must be positive (Å), got {params['sigma']}.")


TOY_RELAXES: list = []


def _toy_relax(structure, spec, *, ase_driver, **settings):
    TOY_RELAXES.append(ase_driver.__name__)  # a program driver that delegates to ASE's optimizer
    return ase_driver(structure, spec, **settings)


@pytest.fixture
def toy_backend():
    register(Backend(name="toy_lj", description="Lennard-Jones for noble gases Ar and Kr (test backend)",
                     build=_toy_build, elements=lambda params: TOY_ELEMENTS, static_elements=TOY_ELEMENTS,
                     check_parameters=_toy_check, distribution="ase",
                     formal_charges=lambda params: {"Ar": 0.0, "Kr": 0.0},
                     batch_evaluator=_toy_evaluator, batch_pays=lambda device: device == "cpu",
                     drivers={"relax": _toy_relax}))
    yield "toy_lj"
    unregister("toy_lj")
    clear_cache()
    TOY_RELAXES.clear()


def argon(a: float = 5.26):
    return bulk("Ar", "fcc", a=a, cubic=True)


def test_a_registered_backend_is_usable_everywhere(toy_backend):
    spec = CalculatorSpec.parse("toy_lj:sigma=3.3")
    assert spec.parameters == {"sigma": 3.3}
    with pytest.raises(CalculatorError, match="sigma must be positive"):
        CalculatorSpec.parse("toy_lj:sigma=-1")

    atoms = argon()
    atoms.calc = get_calculator(spec, atoms)
    reference = argon()
    reference.calc = LennardJones(sigma=3.3, epsilon=0.0104, rc=7.0)
    assert atoms.get_potential_energy() == pytest.approx(reference.get_potential_energy(), abs=1e-12)
    assert atoms.get_potential_energy() < 0  # a bound crystal near the LJ minimum

    with pytest.raises(CalculatorError) as err:
        check_elements(spec, ["Ar", "Na"])
    assert "Na" in str(err.value) and "Ar, Kr" in str(err.value)  # names the missing one and what it handles
    with pytest.raises(CalculatorError, match="Na"):
        get_calculator(spec, bulk("Na", "bcc", a=4.23))

    assert can_batch(spec) and batch_pays(spec) and not batch_pays(spec, "cuda")
    assert formal_charges(spec) == {"Ar": 0.0, "Kr": 0.0} and not is_dft(spec)
    images = [argon(a) for a in (5.1, 5.26, 5.4)]
    for image, (energy, forces) in zip(images, batch_evaluator(spec)(images)):
        image.calc = get_calculator(spec)
        assert energy == pytest.approx(image.get_potential_energy(), abs=1e-12)
        assert np.allclose(forces, image.get_forces(), atol=1e-12)


def test_domain_code_batches_and_drives_through_the_backend(toy_backend):
    from atomflow.jobs.ase_run import relax
    from atomflow.neb.batched import attach_batched, check_batched

    check_batched("toy_lj", True)  # no error: the backend can batch
    images = [argon(a) for a in (5.1, 5.3)]
    band = attach_batched(images, "toy_lj", None)  # None: the backend's rule (pays on cpu) decides
    assert band is not None and images[0].get_potential_energy() < 0 and band.n_model_calls == 1

    rattled = argon()
    rattled.positions[0] += [0.1, 0.0, 0.0]
    assert driver("toy_lj", "relax") is _toy_relax and driver("toy_lj", "neb") is None
    result = relax(rattled, "toy_lj", fmax=1e-3)
    assert TOY_RELAXES == ["relax_with_ase"]  # the backend's driver ran, handed ASE's optimizer
    assert result.converged and result.max_force < 1e-3


def test_a_registered_backend_is_listed_and_forgotten(toy_backend):
    from atomflow.cli import app

    out = CliRunner().invoke(app, ["calculators"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "toy_lj" in out.output and "noble gases Ar and Kr" in out.output
    unregister("toy_lj")
    with pytest.raises(CalculatorError, match="Unknown calculator 'toy_lj'"):
        CalculatorSpec.parse("toy_lj")


def test_driver_tasks_are_checked():
    with pytest.raises(CalculatorError, match="unknown driver tasks"):
        Backend(name="bad", description="", build=_toy_build, elements=lambda p: None,
                drivers={"md": _toy_relax})
    with pytest.raises(CalculatorError, match="Unknown driver task"):
        driver("emt", "md")
    assert driver("emt", "relax") is None and driver("vasp", "neb") is not None and is_dft("gpaw")
