"""CLI inputs that cannot be used (workflow files, --calculator, environment settings): one message, no traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from atomflow.cli import app

CASES = {
    "syntax": ("from jobflow import Flow\n\ndef make_flow(calculator=None)\n    return Flow([])\n",
               ["syntax.py:3", "does not import", "SyntaxError"]),
    "importerror": ("import numpy\nfrom atomflow.nothing_here import Maker\n",
                    ["importerror.py:2", "does not import", "atomflow.nothing_here"]),
    "nomake": ("X = 1\n", ["nomake.py has no make_flow", "def make_flow(calculator"]),
    "wrongsig": ("from jobflow import Flow\n\n\ndef make_flow(calculator, structure):\n    return Flow([])\n",
                 ["wrongsig.py:4", "(calculator, structure)", "one argument"]),
    "returnsnone": ("def make_flow(calculator=None):\n    jobs = []\n", ["returnsnone.py:1", "returned NoneType",
                                                                        "return Flow("]),
    "raises": ("def make_flow(calculator=None):\n    a = 1\n    return {}['missing']\n",
               ["raises.py:3", "raised KeyError", "'missing'"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_broken_workflow_file_gives_one_message_with_file_and_line(tmp_path, monkeypatch, name):
    text, words = CASES[name]
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.setenv("ATOMFLOW_WORKFLOWS_DIR", str(tmp_path))
    monkeypatch.setenv("ATOMFLOW_RESULTS_DIR", str(tmp_path / "results"))
    result = CliRunner().invoke(app, ["run", name, "--calculator", "emt"])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "Traceback" not in result.output
    for word in words:
        assert word in flat, (word, flat)
    assert not (tmp_path / "results" / "store").exists()  # nothing ran, no store written


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_a_calculator_option_that_names_no_calculator_is_refused(tmp_path, monkeypatch, value):
    monkeypatch.setenv("ATOMFLOW_RESULTS_DIR", str(tmp_path / "results"))
    result = CliRunner().invoke(app, ["run", "demo", "--calculator", value])
    assert result.exit_code == 2, result.output
    assert "names no calculator" in " ".join(result.output.split())
    assert not (tmp_path / "results" / "store").exists()


@pytest.mark.parametrize("variable, value, words", [
    ("ATOMFLOW_TORCH_THREADS", "abc", "ATOMFLOW_TORCH_THREADS='abc': Input should be a valid integer"),
    ("ATOMFLOW_TORCH_THREADS", "0", "ATOMFLOW_TORCH_THREADS='0': Input should be greater than or equal to 1"),
    ("ATOMFLOW_COD_TIMEOUT", "-1", "ATOMFLOW_COD_TIMEOUT='-1': Input should be greater than 0"),
    ("ATOMFLOW_DEFAULT_CALCULATOR", "", "ATOMFLOW_DEFAULT_CALCULATOR=''"),
])
def test_a_bad_setting_in_the_environment_is_one_line_naming_the_variable(monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, ["query", "relax"])
    flat = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert words in flat and "Fix the variable or unset it" in flat
