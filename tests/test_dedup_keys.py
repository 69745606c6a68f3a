"""Content keys cover everything the model is trained on: tool calls and their arguments,
declared tools, image parts, ``weight``, code indentation; prose whitespace alone is not a
difference. The C extension and its plain-Python twin give the same keys."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from backends import BUILT, backend

from ftprep.config import Config
from ftprep.dedup import keys
from ftprep.dedup.keys import fenced_code, record_keys, trained_extras
from ftprep.load import load_path
from ftprep.validate.check import run_check
from ftprep.view import ExampleView

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dedup"
DISTINCT = FIXTURES / "distinct_by_training.jsonl"


def _examples(path: Path) -> list[ExampleView]:
    return [ExampleView.of(i.example) for i in load_path(path) if i.example is not None]


@pytest.mark.parametrize("backend_name", BUILT)
def test_examples_differing_in_what_is_trained_are_not_copies(backend_name: str) -> None:
    # Lines 1-12: one weather call per city; 13-24: one question per picture; 25-26: code
    # indented differently; 27-28: weight 1 and 0; 29-30: a tool whose description's code is
    # indented differently; 31-32: the same words with different tools; 33-34: prose that
    # differs only in spacing, the file's one copy.
    with backend(backend_name):
        result = run_check([DISTINCT], Config(select=["X001"]))
        exact = [(f.line, f.related[0].line) for f in result.findings if f.code == "X001"]
        assert exact == [(34, 33)]
        views = _examples(DISTINCT)
        exact_keys = [record_keys(v.example, view=v)[0] for v in views]
    assert len(set(exact_keys)) == len(views) - 1


@pytest.mark.parametrize("backend_name", BUILT)
def test_keys_see_calls_tools_and_images(backend_name: str) -> None:
    views = _examples(DISTINCT)
    with backend(backend_name):
        weather = [record_keys(v.example, view=v) for v in views[:12]]
        pictures = [record_keys(v.example, view=v) for v in views[12:24]]
        flights, hotels = (record_keys(v.example, view=v) for v in views[30:32])
    # The same question with another call is a different answer to the same prompt.
    assert len({k[1] for k in weather}) == 1 and len({k[2] for k in weather}) == 12
    # Another picture is another prompt.
    assert len({k[1] for k in pictures}) == 12 and len({k[2] for k in pictures}) == 1
    # Other tools declared: another prompt, the same answer.
    assert flights[1] != hotels[1] and flights[2] == hotels[2]


def test_c_and_python_give_the_same_key_text() -> None:
    if "c" not in BUILT:
        pytest.skip("the C extensions are not built")
    from backends import KEYS

    assert KEYS is not None
    for view in _examples(DISTINCT):
        fields, roles, _texts = view.columns
        texts, _tools = trained_extras(view)
        for case_sensitive in (False, True):
            assert keys.joined_text(fields, roles, texts, case_sensitive) == KEYS.joined(
                fields, roles, texts, case_sensitive
            )


def test_fenced_code_is_kept_verbatim() -> None:
    text = "Intro  text\n```py\nif x:\n    y()\n```\nafter   it\n~~~\n  z\n"
    assert fenced_code(text) == "```py\nif x:\n    y()\n```\n~~~\n  z"
    assert fenced_code("no fences here") == ""
    # An unclosed fence runs to the end; a fence of the other kind does not close it.
    assert fenced_code("a\n```\nb\n~~~\n c") == "```\nb\n~~~\n c"


def test_plain_records_keep_their_texts() -> None:
    # The common case costs no copy: texts without extras are the view's own list.
    (view,) = _examples(FIXTURES / "distinct_by_training.jsonl")[32:33]
    texts, tools = trained_extras(view)
    assert texts is view.texts and tools == 0
    counts = Counter(trained_extras(v)[1] != 0 for v in _examples(DISTINCT))
    assert counts[True] == 16  # the weather calls and the four records with tools
