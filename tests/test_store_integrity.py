"""A store that refuses to be damaged silently: checksums on every document, the file checked before a run."""

from __future__ import annotations

import logging
import sqlite3
import struct

import pytest
from jobflow import JobConfig, job, run_locally
from typer.testing import CliRunner

from atomflow.cli import app
from atomflow.errors import StoreError
from atomflow.reuse import reuse_or_compute
from atomflow.sqlite_store import SQLiteStore
from atomflow.store import open_store

MODULUS = 123.456789  # a number that appears once in the stored bytes


@job(config=JobConfig(expose_store=True))
def modulus() -> dict:
    return reuse_or_compute("key-modulus", lambda: {"E_GPa": MODULUS, "converged": True})


def _run(path) -> str:
    store = open_store(str(path))
    flow_job = modulus()
    run_locally(flow_job, store=store, log=False)
    return flow_job.uuid


def _flip_byte_inside_number(db) -> None:
    conn = sqlite3.connect(db)
    rowid, blob = next((r, b) for r, b in conn.execute("SELECT rowid, doc FROM outputs")
                       if struct.pack("<d", MODULUS) in b)
    at = blob.index(struct.pack("<d", MODULUS)) + 3
    damaged = blob[:at] + bytes([blob[at] ^ 0x10]) + blob[at + 1:]
    assert struct.unpack("<d", damaged[at - 3:at + 5])[0] != MODULUS  # still a valid, different number
    conn.execute("UPDATE outputs SET doc = ? WHERE rowid = ?", (damaged, rowid))
    conn.commit()
    conn.close()


def test_a_changed_byte_in_a_number_is_reported_and_never_read_as_a_result(tmp_path, caplog):
    db = tmp_path / "atomflow.sqlite"
    uuid = _run(db)
    assert open_store(str(db)).get_output(uuid)["E_GPa"] == MODULUS
    _flip_byte_inside_number(db)
    store = open_store(str(db))  # the file itself is sound: opening works
    with caplog.at_level(logging.ERROR, logger="atomflow.store"):
        with pytest.raises(ValueError):  # jobflow: no such output (rather than a different modulus)
            store.get_output(uuid)
    assert f"job {uuid}" in caplog.text and "checksum" in caplog.text
    result = CliRunner().invoke(app, ["store", "check", "--store", str(db)])
    assert result.exit_code == 1, result.output
    assert "damaged" in result.output and uuid in result.output


def test_a_damaged_document_is_not_reused_it_is_computed_again(tmp_path, caplog):
    db = tmp_path / "atomflow.sqlite"
    _run(db)
    _flip_byte_inside_number(db)
    with caplog.at_level(logging.INFO, logger="atomflow.reuse"):
        uuid = _run(db)
    assert "Computed result" in caplog.text and "Reused" not in caplog.text
    assert open_store(str(db)).get_output(uuid)["E_GPa"] == MODULUS


def test_a_file_damaged_in_the_middle_stops_the_run_before_it_writes(tmp_path):
    db = tmp_path / "atomflow.sqlite"
    store = SQLiteStore(db, "outputs")
    store.connect()
    store.update([{"uuid": f"u{i}", "index": 1, "output": {"x": "y" * 500}} for i in range(200)])
    store.close()
    page = sqlite3.connect(db).execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(db.read_bytes())
    middle = page * (len(raw) // page // 2)
    raw[middle:middle + 16] = b"\xff" * 16  # a b-tree page header in the middle of the file
    db.write_bytes(bytes(raw))
    before = db.read_bytes()
    with pytest.raises(StoreError, match="is damaged") as err:
        _run(db)
    assert str(db) in str(err.value) and "atomflow store check" in str(err.value)
    assert db.read_bytes() == before  # nothing written
    result = CliRunner().invoke(app, ["store", "check", "--store", str(db)])
    assert result.exit_code == 1 and "quick_check" in result.output


def test_rows_from_before_checksums_are_read_and_counted_unverified(tmp_path):
    db = tmp_path / "atomflow.sqlite"
    conn = sqlite3.connect(db)  # the table as the previous store version created it
    conn.execute("CREATE TABLE outputs (rowid INTEGER PRIMARY KEY, keyjson TEXT UNIQUE, uuid TEXT, idx INTEGER, "
                 "blob_uuid TEXT, cache_key TEXT, cls TEXT, doc BLOB NOT NULL)")
    import bson

    conn.execute("INSERT INTO outputs (keyjson, uuid, idx, doc) VALUES (?, ?, ?, ?)",
                 ('{"uuid": "old"}', "old", 1, bson.encode({"uuid": "old", "index": 1, "output": 1.5})))
    conn.commit()
    conn.close()
    store = SQLiteStore(db, "outputs")
    store.connect()
    assert [d["output"] for d in store.query({"uuid": "old"})] == [1.5]
    report = store.check()
    assert (report["documents"], report["verified"], report["unverified"], report["damaged"]) == (1, 0, 1, [])


@pytest.mark.parametrize("env, arg, words", [
    ("", None, "ATOMFLOW_STORE_URI is set but empty"),
    (None, "  ", "The store URI is empty"),
])
def test_an_empty_store_uri_is_an_error_not_the_current_directory(monkeypatch, tmp_path, env, arg, words):
    monkeypatch.chdir(tmp_path)
    if env is not None:
        monkeypatch.setenv("ATOMFLOW_STORE_URI", env)
    with pytest.raises(StoreError, match=words):
        open_store(arg)
    assert list(tmp_path.iterdir()) == []  # no store file created in the current directory
