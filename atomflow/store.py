"""The results store: a jobflow JobStore on an embedded file store by default, MongoDB by URI.

The default is one SQLite file, ``results/store/atomflow.sqlite`` (:class:`~atomflow.sqlite_store.SQLiteStore`):
no server, persistent, indexed on the fields jobflow and atomflow look up, and safe with several
processes writing at once (WAL journal). JSONStore loses concurrent writes and MontyStore races on
first open (../shared/reference/local-cluster.md); litemongo keeps every write but has no indexes, so
its lookups slow down as results accumulate (see sqlite_store.py). Large arrays (trajectories, NEB
images) go to the additional store ``data``, not into the main documents.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jobflow import JobStore
from maggma.stores import MemoryStore, MongoStore

from atomflow.errors import StoreError
from atomflow.settings import get_settings
from atomflow.sqlite_store import SQLiteStore

#: Name of the additional store that holds large arrays (jobflow ``@job(data=...)``).
DATA_STORE = "data"


class LiteMongoStore(MongoStore):
    """A maggma MongoStore on litemongo: MongoDB's API on SQLite files in one directory."""

    def __init__(self, path: str | os.PathLike, database: str = "atomflow", collection_name: str = "outputs",
                 **kwargs: Any) -> None:
        self.path = str(path)
        super().__init__(database=database, collection_name=collection_name, **kwargs)

    def connect(self, force_reset: bool = False) -> None:
        if self._coll is not None and not force_reset:
            return
        import litemongo

        directory = Path(self.path)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"Cannot write the results store at {directory} ({exc.strerror or exc}). Point "
                "ATOMFLOW_RESULTS_DIR (or --store / ATOMFLOW_STORE_URI) at a writable directory."
            ) from exc
        client = litemongo.MongoClient(str(directory))
        self._coll = client[self.database][self.collection_name]

    @property
    def name(self) -> str:
        return f"litemongo://{self.path}/{self.database}/{self.collection_name}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LiteMongoStore) and (self.path, self.database, self.collection_name) == (
            other.path, other.database, other.collection_name)

    def __hash__(self) -> int:
        return hash((self.path, self.database, self.collection_name))


#: File of the embedded store inside its directory.
STORE_FILE = "atomflow.sqlite"


def describe_store_uri(uri: str | None = None) -> str:
    """The store a URI (or the settings) points at, for messages and the CLI."""
    settings = get_settings()
    uri = uri if uri is not None else settings.store_uri
    if uri is None:
        return f"sqlite://{settings.results_dir / 'store' / STORE_FILE}"
    return uri


def _sqlite_path(location: str) -> Path:
    """A directory (the file inside it) or a .sqlite/.db file."""
    path = Path(location).expanduser()
    return path if path.suffix in (".sqlite", ".db") else path / STORE_FILE


def get_store(uri: str | None = None, database: str | None = None) -> JobStore:
    """The JobStore for ``uri`` (default: settings.store_uri, else the embedded store under results/).

    URIs: ``mongodb://…`` or ``mongodb+srv://…`` (a server), ``litemongo:///abs/dir`` or a plain
    directory path (embedded), ``memory://`` (this process only; tests).
    """
    settings = get_settings()
    if uri is not None and not uri.strip():
        raise StoreError("The store URI is empty (--store ''). Give a directory, sqlite:///path/file.sqlite, "
                         "mongodb://host/… or memory://, or leave it out for the embedded store under results/.")
    if uri is None and settings.store_uri is not None and not settings.store_uri.strip():
        raise StoreError("ATOMFLOW_STORE_URI is set but empty, which would put the store in the current "
                         "directory. Unset it (embedded store under results/) or give a URI.")
    uri = uri if uri is not None else settings.store_uri
    database = database or settings.store_database

    def pair(make):
        return make("outputs"), {DATA_STORE: make("outputs_data")}

    if uri is None:
        path = settings.results_dir / "store" / STORE_FILE
        docs, extra = pair(lambda coll: SQLiteStore(path, coll))
    elif uri.startswith("sqlite://"):
        path = _sqlite_path(uri.removeprefix("sqlite://"))
        docs, extra = pair(lambda coll: SQLiteStore(path, coll))
    elif uri.startswith("memory://"):
        docs, extra = pair(lambda coll: MemoryStore(collection_name=f"{uri}{database}/{coll}"))
    elif uri.startswith(("mongodb://", "mongodb+srv://")):
        docs, extra = pair(lambda coll: MongoStore(
            database=database, collection_name=coll, uri=uri,
            mongoclient_kwargs={"serverSelectionTimeoutMS": 5000}))
    elif uri.startswith("litemongo://"):
        path = Path(uri.removeprefix("litemongo://")).expanduser()
        docs, extra = pair(lambda coll: LiteMongoStore(path, database, coll))
    elif "://" in uri:
        raise StoreError(
            f"Unsupported store URI {uri!r}. Use a directory or .sqlite file path, sqlite:///path, "
            "mongodb://host/…, litemongo:///path/to/dir, or memory://."
        )
    else:
        path = _sqlite_path(uri)
        docs, extra = pair(lambda coll: SQLiteStore(path, coll))
    return JobStore(docs, additional_stores=extra)


def open_store(uri: str | None = None, database: str | None = None) -> JobStore:
    """:func:`get_store`, connected, with an error that names the store if it does not answer."""
    store = get_store(uri, database)
    try:
        store.connect()
        store.docs_store.count({"uuid": None})  # a server that does not answer fails here
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"The results store {describe_store_uri(uri)} does not answer ({type(exc).__name__}: {exc}). "
            "Check the URI and that the server is running, or unset ATOMFLOW_STORE_URI to use the "
            "embedded store under results/."
        ) from exc
    _refuse_damaged_file(store)
    return store


def sqlite_stores(store: JobStore) -> list[SQLiteStore]:
    """The SQLite collections behind a JobStore (documents and additional stores), if any."""
    stores = [store.docs_store, *store.additional_stores.values()]
    return [s for s in stores if isinstance(s, SQLiteStore)]


def _refuse_damaged_file(store: JobStore) -> None:
    """Stop before anything is written to an SQLite file that fails SQLite's own integrity check."""
    for sub in sqlite_stores(store)[:1]:  # the collections share one file: one check covers them all
        problem = sub.integrity_problem()
        if problem is not None:
            raise StoreError(
                f"The results store file {sub.path} is damaged (SQLite: {problem}); nothing was written to it. "
                "Restore it from a backup, run `atomflow store check` to see which documents are affected, "
                "or start a new store (--store DIR or ATOMFLOW_STORE_URI)."
            )


def check_store(uri: str | None = None) -> list[dict[str, Any]]:
    """The state of every collection of a store (for `atomflow store check`); opens without refusing."""
    store = get_store(uri)
    store.connect()
    reports = []
    for sub in sqlite_stores(store):
        reports.append(sub.check())
    return reports
