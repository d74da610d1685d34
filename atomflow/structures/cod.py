"""Fetching a CIF from the Crystallography Open Database (COD) and caching it in ``structures/``.

The paper's Na7Sn12 positions are COD entry 4314129 (public domain). The download uses the same
endpoint as ``pymatgen.ext.cod.COD`` (``<COD().url>/cod/<id>.cif``) but keeps the raw CIF text,
so it can be cached with its header, and checks the HTTP status and that the answer is a CIF
(pymatgen's ``get_structure_by_id`` parses whatever page comes back). The whole request runs in
a daemon thread bounded by ``get_settings().cod_timeout`` seconds, so an offline machine (DNS
failure) or a hanging server fails fast with :class:`CODUnavailableError`.

Tests replace :func:`fetch_cod_cif` with ``monkeypatch.setattr(cod, "fetch_cod_cif", fake)``;
:func:`fetch_and_cache` looks it up at call time.
"""

from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path

from atomflow.errors import AtomflowError
from atomflow.settings import get_settings

#: COD id of Na7Sn12 (Fässler & Hoffmann, Inorg. Chem. 42, 5474 (2003)).
NA7SN12_COD_ID = 4314129


class CODUnavailableError(AtomflowError, ConnectionError):
    """The COD server could not be reached or did not return a CIF."""


def cod_url(cod_id: int) -> str:
    """Download address of a COD entry's CIF (pymatgen's COD endpoint)."""
    from pymatgen.ext.cod import COD

    return f"{COD().url}/cod/{int(cod_id)}.cif"


def cached_cif_path(cod_id: int = NA7SN12_COD_ID, prefix: str = "Na7Sn12") -> Path:
    """Where the cached CIF lives: ``<structures_dir>/<prefix>_COD<id>.cif`` (settings read now)."""
    return Path(get_settings().structures_dir) / f"{prefix}_COD{int(cod_id)}.cif"


def fetch_cod_cif(cod_id: int, timeout: float) -> str:
    """Download the CIF text of a COD entry; raise CODUnavailableError within ~``timeout`` s.

    Args:
        cod_id: COD entry number.
        timeout: seconds for the whole request (connect, DNS and read).
    """
    url = cod_url(cod_id)
    box: dict[str, object] = {}

    def worker() -> None:
        try:
            import requests

            response = requests.get(url, timeout=timeout)
            response.raise_for_status()
            box["text"] = response.text
        except BaseException as exc:  # reported to the caller below
            box["error"] = exc

    thread = threading.Thread(target=worker, name=f"cod-{cod_id}", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if thread.is_alive():
        raise CODUnavailableError(f"COD ({url}) did not answer within {timeout} s.")
    if "error" in box:
        exc = box["error"]
        raise CODUnavailableError(f"COD ({url}) unreachable: {type(exc).__name__}: {exc}") from exc
    text = str(box.get("text", ""))
    if "_cell_length_a" not in text or "_atom_site" not in text:
        raise CODUnavailableError(f"COD ({url}) answered, but not with a CIF (first bytes: {text[:80]!r}).")
    return text


def fetch_and_cache(
    cod_id: int = NA7SN12_COD_ID, prefix: str = "Na7Sn12", timeout: float | None = None
) -> Path:
    """Path of the cached CIF, downloading it first if it is not cached yet.

    Args:
        cod_id: COD entry number.
        prefix: file-name prefix of the cache (``<prefix>_COD<id>.cif``).
        timeout: seconds; None: ``get_settings().cod_timeout``.

    Raises:
        CODUnavailableError: not cached and the download failed.
    """
    path = cached_cif_path(cod_id, prefix)
    if path.is_file():
        return path
    seconds = get_settings().cod_timeout if timeout is None else timeout
    text = fetch_cod_cif(cod_id, seconds)  # module-level lookup, so tests can monkeypatch it
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")
    header = (
        f"# Downloaded from {cod_url(cod_id)} on {stamp} by atomflow "
        "(Crystallography Open Database, public domain).\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".cif.part")
    tmp.write_text(header + text)
    tmp.replace(path)
    return path
