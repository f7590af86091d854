"""Run the course: execute every lecture notebook top to bottom, save it and its HTML, time it.

    python -m utils.course lectures --out build [--timeout 600] [--limit 180]
    python -m utils.course lectures/02_cooccurrence_svd.ipynb --inplace   # refresh committed outputs

Each notebook runs in a fresh kernel with its own folder as working directory. The
executed copy goes to OUT/NAME.ipynb and a static page to OUT/NAME.html (the sources in
lectures/ are left untouched). The run time of each notebook is printed, and notebooks
over `--limit` seconds are flagged: a lecture must fit in about three minutes on a
2-core CPU with its default settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbconvert import HTMLExporter

from utils.data import atomic_write


def run_notebook(source: Path, out_dir: Path | None, timeout: int = 600) -> float:
    """Execute `source`, write OUT/NAME.ipynb and OUT/NAME.html; return seconds taken.

    With `out_dir=None` the executed notebook replaces `source` (only if every cell ran)
    and no HTML is written: that is how the committed outputs are refreshed.
    """
    notebook = nbformat.read(source, as_version=4)
    # record_timing=False: no per-cell timestamps, so re-running a notebook only changes real
    # outputs. The kernel is local and short-lived: keep its start-up warnings out of the log.
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(source.parent)}})
    start = time.perf_counter()
    if out_dir is None:
        client.execute()
        _merge_stream_chunks(notebook)
        with atomic_write(source) as tmp:
            nbformat.write(notebook, tmp)
        return time.perf_counter() - start
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - start
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(out_dir / source.name) as tmp:
            nbformat.write(notebook, tmp)
        html, _ = HTMLExporter().from_notebook_node(notebook)
        with atomic_write(out_dir / f"{source.stem}.html") as tmp:
            tmp.write_text(html, encoding="utf-8")
    return elapsed


def _merge_stream_chunks(notebook) -> None:
    """Join consecutive stdout (or stderr) outputs of a cell into one.

    How printed text is split into messages depends on timing, so without this every
    re-run changes the committed notebook even when the text is the same.
    """
    for cell in notebook.cells:
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (output.output_type == "stream" and previous is not None
                    and previous.output_type == "stream" and previous.name == output.name):
                previous.text += output.text
            else:
                merged.append(output)
        if "outputs" in cell:
            cell.outputs = merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path, help="folders (or notebooks) to run, in order")
    parser.add_argument("--out", type=Path, default=Path("build"))
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--inplace", action="store_true",
                        help="write each executed notebook back over its source (no HTML)")
    parser.add_argument("--limit", type=float, default=180.0, help="flag notebooks slower than this (s)")
    args = parser.parse_args(argv)

    notebooks = []
    for item in args.folders:
        notebooks += sorted(item.glob("*.ipynb")) if item.is_dir() else [item]
    if not notebooks:
        print(f"no notebooks found in {', '.join(map(str, args.folders))}", file=sys.stderr)
        return 1

    failures = 0
    for notebook in notebooks:
        print(f"{notebook} ...", end=" ", flush=True)
        try:
            seconds = run_notebook(notebook, None if args.inplace else args.out, args.timeout)
        except (CellExecutionError, CellTimeoutError) as error:
            failures += 1
            print(f"FAILED\n{str(error)[-2000:]}")
            continue
        flag = f"  (over the {args.limit:.0f} s budget)" if seconds > args.limit else ""
        where = notebook if args.inplace else f"{args.out / notebook.name}, {args.out / (notebook.stem + '.html')}"
        print(f"{seconds:6.1f} s -> {where}{flag}")
    print(f"{len(notebooks) - failures} of {len(notebooks)} notebooks ran" + ("" if args.inplace else f"; outputs in {args.out}/"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
