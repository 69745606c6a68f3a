"""The review file (:class:`ftprep.Review`) and how ``check`` and ``prepare`` honour it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import orjson
import pytest

import ftprep
from ftprep import Review
from ftprep.cli import main
from ftprep.review import ReviewConflict, ReviewError
from ftprep.review.data import default_review_path


def write_data(path: Path) -> Path:
    """30 arithmetic chats: two refusals (Q002, lines 4 and 8), an exact duplicate (lines 11
    and 12)."""
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"What is {i} plus {i}?"},
                {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."},
            ]
        }
        for i in range(30)
    ]
    rows[3]["messages"][1]["content"] = "I'm sorry, but as an AI language model I cannot help."
    rows[7]["messages"][1]["content"] = "I'm sorry, but as an AI language model I cannot add."
    rows[10] = rows[11]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_data(tmp_path / "data.jsonl")


def refusals(data: Path) -> list[ftprep.Finding]:
    found = [f for f in ftprep.check(data).findings if f.code == "Q002"]
    assert [f.line for f in found] == [4, 8]
    return found


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_decisions_are_saved_by_fingerprint_and_survive_inserted_lines(data: Path) -> None:
    review = Review(data.with_name("data.jsonl.review"))
    first, second = refusals(data)
    review.reject(first, "wrong answer")
    review.edit(second, 1, "7 plus 7 is 14.")
    saved = lines(review.path)
    assert [(d["fingerprint"], d["decision"]) for d in saved] == [
        (first.fingerprint, "reject"),
        (second.fingerprint, "edit"),
    ]
    assert saved[1]["edits"] == [{"turn": "messages/1", "text": "7 plus 7 is 14."}]
    # A record inserted at the top moves every line; the decisions still find their records.
    data.write_bytes(b'{"messages": [{"role": "user", "content": "hi"}]}\n' + data.read_bytes())
    moved = [f for f in ftprep.check(data).findings if f.code == "Q002"]
    assert [f.line for f in moved] == [5, 9]
    decided = [review.get(f) for f in moved]
    assert [d.decision if d else None for d in decided] == ["reject", "edit"]
    assert review.counts() == {"accept": 0, "reject": 1, "edit": 1}


def test_a_stale_revision_is_refused_and_nothing_is_overwritten(data: Path) -> None:
    review = Review(data.with_name("r.review"))
    finding = refusals(data)[0]
    made = review.accept(finding, expect_rev=0)
    with pytest.raises(ReviewConflict):
        review.reject(finding, "bad", expect_rev=0)  # a tab that saw it undecided
    assert review.get(finding) == made
    assert review.reject(finding, "bad", expect_rev=made.rev).rev == 2


def test_bad_decisions_and_files_are_refused(data: Path) -> None:
    review = Review(data.with_name("r.review"))
    finding = refusals(data)[0]
    with pytest.raises(ReviewError, match="reason"):
        review.reject(finding, "  ")
    with pytest.raises(ReviewError, match="turn"):
        review.edit(finding, "answer/1", "text")
    assert not review.path.exists()
    review.path.write_text('{"fingerprint": "00", "decision": "maybe"}\n')
    with pytest.raises(ReviewError, match=r"r.review:1: unknown decision"):
        review.decisions()


def _accept_many(path: str, start: int) -> None:
    review = Review(path)
    for i in range(start, start + 40):
        review.accept(f"{i:016x}")


def test_two_processes_writing_at_once_keep_every_decision(tmp_path: Path) -> None:
    path = str(tmp_path / "r.review")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_accept_many, args=(path, s)) for s in (0, 1000)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(Review(path)) == 80


def test_bulk_helpers(data: Path) -> None:
    review = Review(data.with_name("r.review"))
    check = ftprep.check(data)
    assert review.reject_code(check, "Q002", path=str(data), reason="refusal") == 2
    assert {d.reason for d in review if d.decision == "reject"} == {"refusal"}
    duplicate = next(f for f in check.findings if f.code == "X001")
    assert review.accept_cluster(check, duplicate) == 1  # lines 11 and 12 are one record text
    assert review.counts() == {"accept": 1, "reject": 2, "edit": 0}


def test_prepare_honours_the_review(data: Path, tmp_path: Path) -> None:
    review = Review(default_review_path([str(data)]))
    assert review.path.name == "data.jsonl.review"
    first, second = refusals(data)
    review.reject(first, "wrong answer")
    review.edit(second, 1, "7 plus 7 is 14.")
    out = tmp_path / "out"
    assert main(["prepare", str(data), "--out", str(out), "--review", str(review.path)]) == 0
    rejected = lines(out / "rejected.jsonl")
    by_line = {r["source"]["line"]: r for r in rejected}  # type: ignore[index]
    assert by_line[4]["reasons"] == [{"review": "reject", "message": "wrong answer"}]
    written = [
        m["content"]  # type: ignore[index]
        for split in ("train", "holdout")
        for r in lines(out / f"{split}.jsonl")
        for m in r["messages"]  # type: ignore[attr-defined]
    ]
    assert "7 plus 7 is 14." in written
    assert not any("as an AI language model" in str(text) for text in written)
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["review"]["sha256"] == review.sha256()
    assert manifest["review"]["decisions"] == {"accept": 0, "reject": 1, "edit": 1}
    assert manifest["counts"]["rejected"] == 2  # the reviewer's and the duplicate
    assert manifest["rejected_by"]["review"] == 1


def test_an_edit_is_checked_again(data: Path, tmp_path: Path) -> None:
    review = Review(tmp_path / "r.review")
    first, second = refusals(data)
    review.edit(first, 1, "3 plus 3 is 6.")
    review.edit(second, 1, "I'm sorry, but as an AI language model I cannot do sums.")
    review.edit(second, 0, "What is 7 plus 7, please?")  # both turns kept
    result = ftprep.api.lint_files([str(data)], ftprep.check(data).config, review=str(review.path))
    refusing = [f for f in result.findings if f.code == "Q002"]
    assert [(f.line, f.location.pointer) for f in refusing] == [(8, "/messages/1/content")]
    assert review.get(second).edits == {  # type: ignore[union-attr]
        "messages/1": "I'm sorry, but as an AI language model I cannot do sums.",
        "messages/0": "What is 7 plus 7, please?",
    }


def test_check_leaves_out_accepted_and_rejected_findings(data: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    review = Review(data.with_name("r.review"))
    first, second = refusals(data)
    review.accept(first, ["Q002"])
    review.reject(second, "no")
    assert main(["check", str(data), "--review", str(review.path), "--select", "Q002"]) == 0
    out = capsys.readouterr().out
    assert "Q002" not in out and "2 findings settled by the review not shown" in out
    assert main(["check", str(data), "--review", str(data) + ".missing"]) == 2
    assert "review file not found" in capsys.readouterr().err


def test_an_edit_of_a_preference_pair_and_undoing_a_decision(tmp_path: Path) -> None:
    from ftprep.review.data import edited_example

    pair = ftprep.Example.model_validate(
        {
            "messages": [{"role": "user", "content": "Name a colour."}],
            "chosen": [{"role": "assistant", "content": "Blue."}],
            "rejected": [{"role": "assistant", "content": "No."}],
        }
    )
    edited = edited_example(pair, {"chosen/0": "Green.", "messages/0": "Name a colour, please."})
    assert [m.text() for m in edited.conversation()] == ["Name a colour, please."]
    assert [m.text() for m in edited.chosen] == ["Green."]
    assert [m.text() for m in pair.chosen] == ["Blue."]  # the record read is left alone
    with pytest.raises(ReviewError, match="no turn rejected/3"):
        edited_example(pair, {"rejected/3": "x"})
    review = Review(tmp_path / "r.review")
    made = review.edit("00000000000000ff", "chosen/0", "Green.")
    assert made.edits == {"chosen/0": "Green."}
    review.clear("00000000000000ff", expect_rev=made.rev)
    assert len(review) == 0 and review.path.read_bytes() == b""


def test_review_refuses_a_file_that_is_not_a_review_file(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = data.with_name("notes.review")
    bad.write_text("these are my notes\n")
    assert main(["review", str(data), "--review", str(bad), "--no-browser"]) == 2
    assert "notes.review:1: not JSON" in capsys.readouterr().err
    assert bad.read_text() == "these are my notes\n"
