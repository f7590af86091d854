"""The course runner: executes notebooks, writes notebook + HTML, reports time and failures."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from utils import course


def _notebook(path, *sources):
    notebook = new_notebook(cells=[new_code_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_runs_folder_into_build_with_html_and_times(tmp_path, capsys):
    lectures = tmp_path / "lectures"
    lectures.mkdir()
    _notebook(lectures / "01_a.ipynb", "print('hello')")
    assert course.main([str(lectures), "--out", str(tmp_path / "build")]) == 0
    executed = nbformat.read(tmp_path / "build" / "01_a.ipynb", as_version=4)
    assert executed.cells[0].outputs[0].text == "hello\n"
    assert "hello" in (tmp_path / "build" / "01_a.html").read_text()
    assert " s -> " in capsys.readouterr().out
    assert executed.cells[0].outputs and not nbformat.read(lectures / "01_a.ipynb", as_version=4).cells[0].outputs


def test_failing_notebook_is_reported_and_exit_code_is_nonzero(tmp_path, capsys):
    _notebook(tmp_path / "bad.ipynb", "raise ValueError('broken cell')")
    assert course.main([str(tmp_path / "bad.ipynb"), "--out", str(tmp_path / "build")]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_inplace_merges_printed_chunks(tmp_path):
    path = _notebook(tmp_path / "nb.ipynb", "import sys, time\nfor i in range(3):\n    print(i); sys.stdout.flush(); time.sleep(0.05)")
    assert course.main([str(path), "--inplace"]) == 0
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert [(o.output_type, o.text) for o in outputs] == [("stream", "0\n1\n2\n")]
