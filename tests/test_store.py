"""The embedded results store: persistent across processes, safe with concurrent writers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from jobflow import Flow, job, run_locally

from atomflow.errors import StoreError
from atomflow.sqlite_store import SQLiteStore
from atomflow.store import DATA_STORE, LiteMongoStore, open_store


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args])


WRITER = """
import sys
from atomflow.store import open_store
store = open_store(sys.argv[1])
tag, n = sys.argv[2], int(sys.argv[3])
for i in range(n):
    store.update({"uuid": f"{tag}-{i}", "index": 1, "output": {"i": i, "tag": tag, "payload": list(range(50))}},
                 key=["uuid", "index"])
store.close()
"""


def test_documents_survive_a_process_restart(tmp_path):
    path = str(tmp_path / "store")
    writer = _python(WRITER, path, "a", "20")
    assert writer.wait(timeout=120) == 0
    store = open_store(path)  # a different process from the writer
    docs = list(store.query({"output.tag": "a"}))
    assert len(docs) == 20
    assert sorted(d["output"]["i"] for d in docs) == list(range(20))


def test_two_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "store")
    open_store(path).close()  # create the files once, as `atomflow run` does before it forks work
    n = 150
    writers = [_python(WRITER, path, tag, str(n)) for tag in ("a", "b")]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    store = open_store(path)
    for tag in ("a", "b"):
        docs = list(store.query({"output.tag": tag}))
        assert len(docs) == n, f"writer {tag}: {len(docs)} of {n} documents stored"
        assert all(d["output"]["payload"] == list(range(50)) for d in docs)  # none corrupted


@job(data="trajectory")
def _make_trajectory(n: int):
    return {"energy": -1.0, "trajectory": np.arange(n * 3.0).reshape(n, 3).tolist()}


def test_large_arrays_go_to_the_additional_store(tmp_path):
    store = open_store(str(tmp_path / "store"))
    j = _make_trajectory(1000)
    run_locally(Flow([j]), store=store, log=False)
    main_doc = store.query_one({"uuid": j.uuid})
    assert "blob_uuid" in str(main_doc["output"]["trajectory"])  # a reference, not the array
    assert store.additional_stores[DATA_STORE].count() == 1
    assert len(store.get_output(j.uuid, load=True)["trajectory"]) == 1000  # resolved on request


def test_default_store_lives_under_results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMFLOW_RESULTS_DIR", str(tmp_path / "elsewhere"))
    store = open_store()
    assert isinstance(store.docs_store, SQLiteStore)
    assert str(tmp_path / "elsewhere" / "store" / "atomflow.sqlite") == store.docs_store.path


def test_litemongo_store_is_still_available_by_uri(tmp_path):
    store = open_store(f"litemongo://{tmp_path / 'lm'}")
    assert isinstance(store.docs_store, LiteMongoStore)
    store.update({"uuid": "x", "index": 1, "output": 1}, key=["uuid", "index"])
    assert open_store(f"litemongo://{tmp_path / 'lm'}").get_output("x") == 1


def test_unwritable_store_path_gives_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="writable"):
        open_store(str(blocker / "store"))


def test_store_uri_that_does_not_answer(monkeypatch):
    with pytest.raises(StoreError, match="does not answer"):
        open_store("mongodb://127.0.0.1:9/")  # discard port: nothing listens


def test_unsupported_uri_names_the_valid_forms():
    with pytest.raises(StoreError, match="mongodb://"):
        open_store("ftp://example/store")
