"""The quickstart notebook runs in a real Jupyter kernel and shows the HTML report."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

DOCS = Path(__file__).resolve().parents[1] / "docs"
NOTEBOOK = DOCS / "quickstart.ipynb"


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(DOCS)}}
    )
    with pytest.MonkeyPatch.context() as patch:
        # The kernel inherits the environment: a CI run would silence the progress bar.
        for name in ("CI", "PRE_COMMIT"):
            patch.delenv(name, raising=False)
        client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode, cell_id: str) -> list[nbformat.NotebookNode]:
    cell = next(c for c in notebook.cells if c.get("id") == cell_id)
    return list(cell.outputs)


def test_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id


def test_report_cell_shows_html_with_charts(executed: nbformat.NotebookNode) -> None:
    (result,) = outputs(executed, "report")
    html = result.data["text/html"]
    assert html.startswith('<div class="ftprep-report fragment">')
    assert html.count("<svg") == 3
    assert "Tokens per example" in html and "Records affected per code" in html
    assert result.data["text/plain"].startswith("ftprep report")


def test_rows_and_prepare_cells(executed: nbformat.NotebookNode) -> None:
    (frame,) = outputs(executed, "rows")
    assert "<table" in frame.data["text/html"]
    (prepared,) = [o for o in outputs(executed, "prepare") if o.output_type == "execute_result"]
    text = prepared.data["text/plain"]
    assert "'train': 4" in text and "'holdout': 1" in text
    for name in ("train.jsonl", "holdout.jsonl", "manifest.json", "report.html"):
        assert name in text


def test_check_shows_a_progress_bar_in_the_kernel(executed: nbformat.NotebookNode) -> None:
    """Nothing asks for it: a running kernel means someone is watching."""
    shown = outputs(executed, "check")
    bar = "".join(o.text for o in shown if o.output_type == "stream" and o.name == "stderr")
    assert "ftprep: 100%" in bar and "27.4k/27.4k" in bar
    (summary,) = [o for o in shown if o.output_type == "execute_result"]
    assert "'records': 5" in summary.data["text/plain"]


def result_of(notebook: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    """The cell's value (its progress bar aside)."""
    (result,) = [o for o in outputs(notebook, cell_id) if o.output_type == "execute_result"]
    return result


def test_in_memory_workflow_and_review_cells(executed: nbformat.NotebookNode) -> None:
    checked = result_of(executed, "memory")
    assert checked.data["text/plain"] == (
        "<CheckResult 1 file, 15 records (15 loaded): 1 error, 1 warning, 2 infos>"
    )
    assert "<code>C002</code>" in checked.data["text/html"]
    review = result_of(executed, "review")
    assert "<memory>[12] C002" in review.data["text/plain"]
    assert "assistant: Yes." in review.data["text/plain"]
    frame = result_of(executed, "findings-frame")
    table = frame.data["text/html"]
    assert "<table" in table and "<td>12</td>" in table and "system: You are a concise" in table
    printed = "".join(
        o.text for o in outputs(executed, "prepare-memory") if o.output_type == "stream"
    )
    assert "{'input': 15, 'train': 10, 'holdout': 2, 'rejected': 3}" in printed
    assert "holdout: 2 examples (16.7%), 2 asked" in printed
    rejected = result_of(executed, "rejected")
    assert rejected.data["text/plain"] == "[(12, ['C002']), (13, ['C001']), (14, ['Q001'])]"
    kept = result_of(executed, "kept")
    assert "messages" in kept.data["text/html"]
