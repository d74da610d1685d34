"""`atomflow store check`: the state of a results store (integrity of the file, damaged documents)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from atomflow.errors import AtomflowError

store_app = typer.Typer(help="Inspect the results store.", no_args_is_help=True)


@store_app.command("check")
def check(store: Optional[str] = typer.Option(None, "--store", help="Store URI (default: the embedded store).")
          ) -> None:
    """Verify every stored document against its checksum and the file with SQLite's quick_check."""
    console = Console()
    try:
        from atomflow.store import check_store, describe_store_uri

        reports = check_store(store)
    except AtomflowError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2)
    console.print(f"store: {describe_store_uri(store)}")
    if not reports:
        console.print("not an SQLite store: its server keeps its own integrity; nothing to check here.")
        return
    table = Table("collection", "documents", "verified", "unverified (older than checksums)", "damaged")
    bad = False
    for report in reports:
        table.add_row(report["collection"], str(report["documents"]), str(report["verified"]),
                      str(report["unverified"]), str(len(report["damaged"])))
        bad |= bool(report["damaged"])
    console.print(table)
    integrity = reports[0]["integrity"]
    if integrity != ["ok"]:
        bad = True
        console.print(f"[red]file integrity (SQLite quick_check):[/] {'; '.join(integrity[:5])}")
    else:
        console.print("file integrity (SQLite quick_check): ok")
    for report in reports:
        for item in report["damaged"][:20]:
            console.print(f"  [red]damaged[/] {report['collection']}: {item['key']} (job {item['job']})")
    if bad:
        console.print("Damaged documents are never used as results or reused: their jobs run again on the next "
                      "run. For a damaged file: restore it from a backup or start a new store.")
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
