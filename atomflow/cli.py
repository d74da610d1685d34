"""The `atomflow` command line (typer + rich)."""

from __future__ import annotations

import time
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from atomflow.errors import AtomflowError

app = typer.Typer(help="atomflow: atomistic workflows (vacancies, CI-NEB barriers, elastic tensors) on jobflow.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
run_app = typer.Typer(help="Run a workflow locally into the results store.", no_args_is_help=True)
app.add_typer(run_app, name="run")
console = Console()


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


@app.command("calculators")
def list_calculators() -> None:
    """List calculator names, what they are, and whether they can run here."""
    from atomflow.calculators import describe_calculators

    table = Table("name", "available", "description")
    for name, description, ok in describe_calculators():
        table.add_row(name, "[green]yes[/]" if ok else "[yellow]no[/]", description)
    console.print(table)


@run_app.command("demo")
def run_demo(
    calculator: Optional[str] = typer.Option(None, "--calculator", "-c", help="Calculator spec, e.g. sevennet."),
    store: Optional[str] = typer.Option(None, "--store", help="Store URI (default: embedded store in results/)."),
) -> None:
    """Relax the study's three bulk phases (NaCl, bcc Na, Na7Sn12 or its stand-in) and store them."""
    try:
        from atomflow.runner import run_flow
        from atomflow.store import describe_store_uri
        from atomflow.workflows import load_workflow

        flow = load_workflow("demo").make_flow(calculator)
        console.print(f"store: {describe_store_uri(store)}")
        start = time.perf_counter()
        outputs = run_flow(flow, store=store, console=console, ensure_success=True).outputs
        table = Table("phase", "structure", "a, b, c (Å)", "E (eV/atom)", "max |σ| (GPa)", "converged",
                      title=f"Relaxed bulks ({time.perf_counter() - start:.1f} s)")
        for row in _relax_rows(outputs):
            table.add_row(*row)
        console.print(table)
    except AtomflowError as exc:
        _fail(exc)


def _relax_rows(outputs: dict) -> list[tuple[str, ...]]:
    rows = []
    for by_index in outputs.values():
        for response in by_index.values():
            doc = getattr(response, "output", response)
            if type(doc).__name__ != "RelaxDocument":
                continue
            lattice = doc.structure.lattice
            flag = "[green]yes[/]" if doc.converged else "[red]NO (step limit)[/]"
            rows.append((doc.formula, doc.provenance.structure_label or "", f"{lattice.a:.3f}, {lattice.b:.3f}, "
                         f"{lattice.c:.3f}", f"{doc.energy_per_atom:.4f}", f"{max(map(abs, doc.stress_gpa)):.3f}",
                         flag))
    return rows


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
