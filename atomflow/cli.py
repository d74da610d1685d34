"""The `atomflow` command line (typer + rich)."""

from __future__ import annotations

import time
import warnings
from typing import List, Optional

import typer
import typer.core
from rich.console import Console
from rich.table import Table
from rich.text import Text

from atomflow.errors import AtomflowError

app = typer.Typer(help="atomflow: atomistic workflows (vacancies, CI-NEB barriers, elastic tensors) on jobflow.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
console = Console()

CALCULATOR_HELP = ("Calculator spec, e.g. sevennet, chgnet, kim, mace:/path/model.model; several separated by "
                   "commas run the study once per calculator (a committee) into the same store.")
STORE_HELP = "Store URI: a directory, litemongo:///dir, mongodb://… (default: the embedded store in results/)."


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def split_calculators(text: str | None) -> list[str | None]:
    """'chgnet,sevennet,mace:/p/m.model' → specs (commas inside key=value lists are kept: gpaw:ecut=500,kpt_density=3)."""
    if text is None:
        return [None]
    from atomflow.calculators import CalculatorSpec
    from atomflow.settings import get_settings

    parts: list[str] = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if parts and "=" in piece and ":" not in piece:  # continuation of NAME:key=value,key=value
            parts[-1] += "," + piece
        else:
            parts.append(piece)
    if not parts:
        raise typer.BadParameter(f"{text!r} names no calculator; give one, e.g. sevennet or chgnet,sevennet, or "
                                 f"leave --calculator out for the default ({get_settings().default_calculator})",
                                 param_hint="--calculator")
    keys = [CalculatorSpec.parse(p).key for p in parts]  # validates every name before any work
    if len(set(keys)) != len(keys):
        raise typer.BadParameter("a calculator is listed twice", param_hint="--calculator")
    return list(parts)


@app.command("calculators")
def list_calculators() -> None:
    """List calculator names, what they are, and whether they can run here."""
    from atomflow.calculators import describe_calculators

    table = Table("name", "available", "description")
    for name, description, ok in describe_calculators():
        table.add_row(name, "[green]yes[/]" if ok else "[yellow]no[/]", description)
    console.print(table)


WORKFLOW_HELP = ("Workflow name: a file in workflows/ (paper, demo), or a property (elastic, vacancy, migration, "
                 "phonons, transport) with --structure.")
STRUCTURE_HELP = ("Structure file(s) for a property: CIF, POSCAR/CONTCAR, or any format pymatgen or ASE reads; "
                  "--structure a.cif b.vasp or repeat the option. One flow per file, labelled by its name.")
WORKERS_HELP = ("Worker processes: the flow's independent parts (phases, files) run at the same time, each "
                "worker with cores/N threads; 1 (default) runs every job in this process.")
SPECIES_HELP = "Hopping / removed element of vacancy, migration and transport (default Na); only with --structure."


def structure_files(structure: list[str] | None, extra: list[str] | None) -> list[str]:
    """--structure a.cif b.cif: the option takes a.cif, click leaves b.cif as an extra argument."""
    if extra and not structure:
        raise typer.BadParameter(f"unexpected argument(s) {' '.join(extra)}: structure files go after "
                                 "--structure", param_hint="--structure")
    return [*(structure or []), *(extra or [])]


@app.command("run")
def run(
    workflow: str = typer.Argument(..., help=WORKFLOW_HELP),
    more_structures: Optional[List[str]] = typer.Argument(None, metavar="FILE", show_default=False,
                                                          help="More structure files after --structure."),
    structure: Optional[List[str]] = typer.Option(None, "--structure", "-s", help=STRUCTURE_HELP),
    species: Optional[str] = typer.Option(None, "--species", help=SPECIES_HELP),
    calculator: Optional[str] = typer.Option(None, "--calculator", "-c", help=CALCULATOR_HELP),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    report: bool = typer.Option(True, help="Write results/report.md (the whole store's report) after the run."),
    workers: int = typer.Option(1, "--workers", "-w", help=WORKERS_HELP),
) -> None:
    """Run a workflow, or a property on your structure files, locally into the store; finished work already
    in the store is reused."""
    try:
        from atomflow.runner import run_flow
        from atomflow.store import describe_store_uri
        from atomflow.workflows import flow_builder

        if workers != 1:  # before anything is built or stored
            from atomflow.parallel import check_shared_store, check_workers, oversubscribed

            threads = check_workers(workers, warn=False)
            check_shared_store(store)
            if oversubscribed(workers):
                console.print(f"[yellow]warning:[/] {oversubscribed(workers)}", soft_wrap=True)

        make_flow = flow_builder(workflow, structure_files(structure, more_structures), species)
        specs = split_calculators(calculator)
        flows = [make_flow(spec) for spec in specs]  # every input checked before any work
        console.print(f"store: {describe_store_uri(store)}")
        failed: list[str] = []
        for spec, flow in zip(specs, flows):
            start = time.perf_counter()
            if workers != 1:
                console.print(f"{workers} worker processes, {threads} thread(s) each", soft_wrap=True)
            with warnings.catch_warnings():  # said once above
                warnings.filterwarnings("ignore", message="--workers .* cores", category=UserWarning)
                summary = run_flow(flow, store=store, console=console, workers=workers)
            name = spec or "default calculator"
            failed += [f"{e.name} ({name})" if len(specs) > 1 else e.name for e in summary.failures]
            console.print(f"[bold]{workflow}[/] with {name}: {summary.done} jobs finished, "
                          f"{summary.failed} failed; computed {summary.computed} and reused {summary.reused} "
                          "results from the store; "
                          f"{time.perf_counter() - start:.1f} s", soft_wrap=True)  # one line in a log
            for line in summary.failed_jobs:
                console.print(Text.assemble("  ", ("failed", "red"), f" {line}"))
        if report:  # the report is built from what is stored, failed jobs or not
            from atomflow.report import write_report

            try:
                console.print(f"report: {write_report(store=store)}")
            except AtomflowError as exc:  # e.g. nothing reportable finished: the run's own outcome still counts
                console.print(f"[yellow]no report:[/] {exc}")
        if failed:
            console.print(Text.assemble((f"{len(failed)} job(s) failed", "bold red"),
                                        ": " + "; ".join(failed)))
            raise typer.Exit(code=1)
    except AtomflowError as exc:
        _fail(exc)


@app.command("report")
def report_command(
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Report directory (default: results/)."),
) -> None:
    """Rebuild the report of the store (Markdown + PNG figures), without recomputing anything.

    One section per property the store holds, and the comparison with the paper when its systems are there.
    """
    try:
        from atomflow.report import write_report

        console.print(f"report: {write_report(store=store, directory=output)}")
    except AtomflowError as exc:
        _fail(exc)


class _PropertyHelp(typer.core.TyperCommand):
    """Fills the PROPERTY help with the registered properties when help is shown (importing them is slow)."""

    def format_help(self, ctx, formatter) -> None:
        from atomflow.properties import registered_properties

        names = ", ".join(p.name for p in registered_properties())
        for param in self.params:
            if param.name == "property":
                param.help = f"A registered property: {names}."
        super().format_help(ctx, formatter)


@app.command("query", cls=_PropertyHelp)
def query(
    property: str = typer.Argument(..., help="A registered property (see atomflow query --help)."),
    formula: Optional[str] = typer.Option(None, "--formula", "-f", help="Reduced formula, e.g. NaCl."),
    calculator: Optional[str] = typer.Option(None, "--calculator", "-c", help="Calculator name."),
    since: Optional[str] = typer.Option(None, help="Only results made on/after this ISO date."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    limit: int = typer.Option(50, min=1, max=10_000, help="Rows to print at most."),
) -> None:
    """Print stored results as a table; flagged results show their flags."""
    try:
        from atomflow.results import Results

        frame = Results(store).query(property, formula=formula, calculator=calculator, since=since).to_dataframe()
        if frame.empty:
            console.print(f"no {property} results" + (f" for {formula}" if formula else ""))
            return
        frame = frame.drop(columns=[c for c in ("created_at", "stand_in") if c in frame]).head(limit)
        table = Table(*frame.columns, title=f"{property} results ({len(frame)})")
        for row in frame.itertuples(index=False):
            table.add_row(*[_cell(v) for v in row])
        out = Console()  # a fresh console: the terminal width as it is now
        if not out.is_terminal:  # a pipe or a log: rich's default 80 columns would cut every column to a letter
            out = Console(width=max(out.width, 400))
        out.print(table)
    except AtomflowError as exc:
        _fail(exc)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "—"
    return str(value)


from atomflow.cluster.cli import register as _register_cluster  # noqa: E402  (cluster, submit, status, retry)
_register_cluster(app)
from atomflow.store_cli import register as _register_store  # noqa: E402  (store check)
_register_store(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
