"""A maggma Store on one SQLite file: the default embedded results store.

Why not litemongo (MongoDB's API on SQLite, which atomflow used first): it has no indexes, so every
lookup decodes every stored document. jobflow resolves each job's inputs by uuid and atomflow looks
up finished work by key, so a run's cost grew with the square of the store's size (measured: a
re-run of the paper study spent 70 of its 96 s decoding documents, with ~600 documents stored).

Here documents are stored as BSON with indexed columns for the fields that jobflow and atomflow look
up (``uuid``, ``index``, ``blob_uuid``, ``output.cache_key``, ``output.@class``). Other criteria use
mongomock's matcher, so any MongoDB query works, just without an index. SQLite's WAL journal and a
busy timeout let several processes write at once without losing a document.

Integrity: every row carries a BLAKE2b checksum of its BSON bytes, written with the row and verified
on every read. A row whose bytes changed (a flipped bit inside a stored number, a torn page) is
reported once on the ``atomflow.store`` logger, naming the document and its job, and is never
returned: jobflow and atomflow then treat it as missing, so it is neither shown as a result nor
reused (the job that made it runs again). Rows written before checksums existed (NULL) are read as
they are and counted as unverified by :meth:`SQLiteStore.check`. :meth:`SQLiteStore.check` also runs
SQLite's own ``quick_check`` of the file; :func:`atomflow.store.open_store` refuses a file that fails
it before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from itertools import groupby as _groupby
from pathlib import Path
from typing import Any, Iterator

import bson
from maggma.core import Sort, Store
from monty.json import jsanitize
from mongomock_ng.filtering import filter_applies

from atomflow.errors import StoreError

logger = logging.getLogger("atomflow.store")

#: document field → indexed column
INDEXED = {"uuid": "uuid", "index": "idx", "blob_uuid": "blob_uuid", "output.cache_key": "cache_key",
           "output.@class": "cls"}


def checksum(blob: bytes) -> str:
    """Content checksum of a stored document's BSON bytes (BLAKE2b, 128 bit)."""
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def _get(doc: dict, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _set(doc: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        doc = doc.setdefault(part, {})
    doc[parts[-1]] = value


def _project(doc: dict, properties: dict | list | None) -> dict:
    if not properties:
        return doc
    if isinstance(properties, dict):
        include = [k for k, v in properties.items() if v]
        if not include:  # exclusion projection
            out = dict(doc)
            for key in properties:
                out.pop(key, None)
            return out
        properties = include
    out: dict = {}
    for key in properties:
        value = _get(doc, key)
        if value is not None or key in doc:
            _set(out, key, value)
    return out


def _sort_key(fields: list[tuple[str, int]]):
    def key(doc: dict):
        parts = []
        for field, _ in fields:
            value = _get(doc, field)
            parts.append((value is not None, value if isinstance(value, (int, float, str)) else str(value)))
        return parts

    return key


class SQLiteStore(Store):
    """Documents in one table of an SQLite file; several stores (collections) can share the file."""

    def __init__(self, path: str | Path, collection_name: str = "outputs", key: str = "uuid",
                 timeout: float = 120.0, **kwargs: Any) -> None:
        self.path = str(path)
        self.collection_name = collection_name
        self.timeout = timeout
        self.kwargs = kwargs
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        super().__init__(key=key, **kwargs)

    # --- connection ------------------------------------------------------------------------------
    def connect(self, force_reset: bool = False) -> None:
        if self._conn is not None and not force_reset:
            return
        path = Path(self.path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, and vice versa
            conn.execute("PRAGMA synchronous=NORMAL")
            table = self._table
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (rowid INTEGER PRIMARY KEY, keyjson TEXT UNIQUE, "
                         "uuid TEXT, idx INTEGER, blob_uuid TEXT, cache_key TEXT, cls TEXT, doc BLOB NOT NULL, "
                         "checksum TEXT)")
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if "checksum" not in columns:  # a store written before checksums: its rows stay unverified
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN checksum TEXT")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise
            for column in INDEXED.values():
                index = '"' + f"{self.collection_name}_{column}".replace('"', "") + '"'
                conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table}({column})")
        except (OSError, sqlite3.OperationalError) as exc:
            raise StoreError(
                f"Cannot open or write the results store {path} ({exc}). Point ATOMFLOW_RESULTS_DIR "
                "(or --store / ATOMFLOW_STORE_URI) at a writable directory."
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path} is not an atomflow results store ({exc}). Use another path, or move the file away "
                "if it was damaged (atomflow never overwrites it)."
            ) from exc
        self._conn = conn
        self._reported: set[int] = set()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def _collection(self):
        # maggma declares `_collection` abstract, and jobflow-remote treats any store that has one as a
        # MongoDB collection (drop_indexes / create_index, with a logged traceback when that fails). An
        # SQLite table is not one: AttributeError makes hasattr() false, so it calls ensure_index() instead.
        raise AttributeError("an SQLiteStore has no MongoDB collection")

    @property
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"The store {self.name} is not connected; call connect() first.")
        return self._conn

    @property
    def _table(self) -> str:
        return '"' + self.collection_name.replace('"', "") + '"'

    @property
    def name(self) -> str:
        return f"sqlite://{self.path}#{self.collection_name}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SQLiteStore) and (self.path, self.collection_name) == (
            other.path, other.collection_name)

    def __hash__(self) -> int:
        return hash((self.path, self.collection_name))

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_conn"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # --- writing ---------------------------------------------------------------------------------
    def update(self, docs: list[dict] | dict, key: list | str | None = None) -> None:
        docs = [docs] if isinstance(docs, dict) else list(docs)
        keys = [key or self.key] if isinstance(key or self.key, str) else list(key)
        rows = []
        for doc in docs:
            doc = jsanitize(doc, allow_bson=True)
            if self.validator is not None:
                self.validator.is_valid(doc)
            keyjson = json.dumps({k: _get(doc, k) for k in keys}, sort_keys=True, default=str)
            blob = bson.encode(doc)
            rows.append((keyjson, *(_get(doc, field) for field in INDEXED), blob, checksum(blob)))
        sql = (f"INSERT INTO {self._table} (keyjson, uuid, idx, blob_uuid, cache_key, cls, doc, checksum) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(keyjson) DO UPDATE SET uuid=excluded.uuid, "
               "idx=excluded.idx, blob_uuid=excluded.blob_uuid, cache_key=excluded.cache_key, "
               "cls=excluded.cls, doc=excluded.doc, checksum=excluded.checksum")
        with self._lock:
            conn = self._connection
            conn.execute("BEGIN IMMEDIATE")  # one writer at a time across processes; others wait (timeout)
            try:
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def remove_docs(self, criteria: dict) -> None:
        rowids = [rowid for rowid, _ in self._matching(criteria)]
        with self._lock:
            conn = self._connection
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(f"DELETE FROM {self._table} WHERE rowid = ?", [(r,) for r in rowids])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def ensure_index(self, key: str, unique: bool = False) -> bool:
        return key in INDEXED and not unique

    # --- reading ---------------------------------------------------------------------------------
    def _matching(self, criteria: dict | None) -> Iterator[tuple[int, dict]]:
        """(rowid, document) of every match: indexed fields narrow in SQL, the full criteria decide."""
        criteria = criteria or {}
        where, params = [], []
        for field, column in INDEXED.items():
            if field not in criteria:
                continue
            value = criteria[field]
            if isinstance(value, dict):
                if set(value) == {"$in"} and isinstance(value["$in"], (list, tuple)):
                    if not value["$in"]:
                        return
                    where.append(f"{column} IN ({', '.join('?' * len(value['$in']))})")
                    params.extend(value["$in"])
            elif value is None or isinstance(value, (str, int, float)):
                where.append(f"{column} IS ?")
                params.append(value)
        sql = f"SELECT rowid, doc, checksum, uuid, keyjson FROM {self._table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._connection.execute(sql + " ORDER BY rowid", params).fetchall()
        for rowid, blob, stored_sum, uuid, keyjson in rows:
            doc = self._verified(rowid, blob, stored_sum, uuid, keyjson)
            if doc is not None and (not criteria or filter_applies(criteria, doc)):
                yield rowid, doc

    def _verified(self, rowid: int, blob: bytes, stored_sum: str | None, uuid: str | None,
                  keyjson: str) -> dict | None:
        """The decoded row, or None (reported once) when its bytes do not match their checksum."""
        problem = None
        if stored_sum is not None and checksum(blob) != stored_sum:
            problem = "its bytes no longer match the checksum written with it"
        else:
            try:
                return bson.decode(blob)
            except Exception as exc:  # bson raises several types for damaged bytes
                problem = f"it cannot be decoded ({type(exc).__name__})"
        if rowid not in self._reported:
            self._reported.add(rowid)
            logger.error("Damaged document in %s: %s (job %s) %s; it is ignored, never used as a result or "
                         "reused. Run `atomflow store check` for the whole store.", self.path, keyjson,
                         uuid or "unknown", problem)
        return None

    def check(self) -> dict[str, Any]:
        """The state of this collection and its file: rows, verified / unverified / damaged, quick_check."""
        with self._lock:
            conn = self._connection
            try:
                integrity = [row[0] for row in conn.execute("PRAGMA quick_check")]
                rows = conn.execute(f"SELECT rowid, doc, checksum, uuid, keyjson FROM {self._table}").fetchall()
            except sqlite3.DatabaseError as exc:
                return {"path": self.path, "collection": self.collection_name, "documents": None,
                        "verified": 0, "unverified": 0, "damaged": [], "integrity": [str(exc)]}
        damaged, verified, unverified = [], 0, 0
        for _, blob, stored_sum, uuid, keyjson in rows:
            ok = stored_sum is None or checksum(blob) == stored_sum
            if ok:
                try:
                    bson.decode(blob)
                except Exception:
                    ok = False
            if not ok:
                damaged.append({"key": keyjson, "job": uuid})
            elif stored_sum is None:
                unverified += 1
            else:
                verified += 1
        return {"path": self.path, "collection": self.collection_name, "documents": len(rows),
                "verified": verified, "unverified": unverified, "damaged": damaged, "integrity": integrity}

    def integrity_problem(self) -> str | None:
        """SQLite's quick_check of the file: None when it is sound, else what SQLite reports."""
        with self._lock:
            try:
                result = [row[0] for row in self._connection.execute("PRAGMA quick_check")]
            except sqlite3.DatabaseError as exc:
                return str(exc)
        return None if result == ["ok"] else "; ".join(result[:5])

    def query(self, criteria: dict | None = None, properties: dict | list | None = None,
              sort: dict[str, Sort | int] | None = None, skip: int = 0, limit: int = 0) -> Iterator[dict]:
        docs = (doc for _, doc in self._matching(criteria))
        if sort:
            fields = [(f, int(getattr(d, "value", d))) for f, d in sort.items()]
            docs = list(docs)
            for field, direction in reversed(fields):  # stable sorts, last key first
                docs.sort(key=_sort_key([(field, direction)]), reverse=direction < 0)
        for n, doc in enumerate(docs):
            if n < skip:
                continue
            if limit and n >= skip + limit:
                break
            yield _project(doc, properties)

    def count(self, criteria: dict | None = None, hint: dict | None = None) -> int:
        if not criteria:
            with self._lock:
                return self._connection.execute(f"SELECT COUNT(*) FROM {self._table}").fetchone()[0]
        return sum(1 for _ in self._matching(criteria))

    def distinct(self, field: str, criteria: dict | None = None, all_exist: bool = False) -> list:
        values: list = []
        for doc in self.query(criteria, properties=[field]):
            value = _get(doc, field)
            for item in value if isinstance(value, list) else [value]:
                if item is not None and item not in values:
                    values.append(item)
        return values

    def groupby(self, keys: list[str] | str, criteria: dict | None = None, properties: dict | list | None = None,
                sort: dict[str, Sort | int] | None = None, skip: int = 0, limit: int = 0
                ) -> Iterator[tuple[dict, list[dict]]]:
        keys = [keys] if isinstance(keys, str) else list(keys)
        docs = sorted(self.query(criteria, sort=sort, skip=skip, limit=limit),
                      key=_sort_key([(k, 1) for k in keys]))
        for _, group in _groupby(docs, key=lambda d: json.dumps([_get(d, k) for k in keys], default=str)):
            group = list(group)
            yield {k: _get(group[0], k) for k in keys}, [_project(d, properties) for d in group]
