"""The review file: what a person decided about each record, kept beside the data.

JSON Lines, one decision per record, keyed by the record's content fingerprint (the xxh3
hash of its bytes, as baselines key findings), never by line number: inserting or deleting
other records leaves every decision in place, and editing a record by hand makes it a new,
undecided record. A decision is one of:

- ``accept``: the record is fine as it is; its findings of ``codes`` (all of them when
  ``codes`` is absent) are suppressed, as a baseline suppresses them;
- ``reject``: the record is left out (``prepare`` writes it to ``rejected.jsonl`` with
  ``reason``);
- ``edit``: the record is kept with the new text of the turns in ``edits`` (``turn`` is
  ``messages/2``, ``chosen/0``...: the field and the index of the turn); it is checked
  again as edited.

::

    {"fingerprint": "9f2c0e4d1a7b3c55", "decision": "reject", "reason": "wrong answer",
     "path": "train.jsonl", "line": 7, "rev": 1}

``path`` and ``line`` say where the record was when it was decided (for a reader of the
file; nothing looks records up by them). ``rev`` counts the changes to the record's
decision, so that a writer that read an older state (another browser tab) is refused rather
than overwriting it silently.

Every change rewrites the whole file under a lock (a ``.lock`` file beside it, held with
``flock``) as a temporary file that is fsynced and renamed over it: a crash leaves the file
before or after the change, never half of it, and two writers (two processes, two threads)
never interleave; each reads the file afresh under the lock, so neither loses the other's
decisions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from ftprep.findings import Finding

if TYPE_CHECKING:
    from ftprep.validate.check import CheckResult

try:
    import fcntl
except ImportError:  # Windows: the thread lock alone (one process writes at a time there)
    fcntl = None  # type: ignore[assignment]

Kind = Literal["accept", "reject", "edit"]
KINDS: tuple[Kind, ...] = ("accept", "reject", "edit")
REASONS = (
    "wrong or misleading answer",
    "low quality",
    "off-topic",
    "unsafe or private content",
    "duplicate",
)
"""The short list of rejection reasons the review page offers (free text is allowed too)."""


class ReviewError(ValueError):
    """A review file that cannot be read, or a decision that cannot be made."""


class ReviewConflict(ReviewError):
    """A decision made on an out-of-date view of the record: someone else (another tab,
    another process) changed its decision since."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What was decided about one record (see the module documentation)."""

    fingerprint: str
    decision: Kind
    reason: str | None = None
    codes: tuple[str, ...] | None = None
    """For ``accept``: the codes whose findings are accepted (``None``: all)."""
    edits: dict[str, str] = field(default_factory=dict)
    """For ``edit``: the new text of each edited turn, by ``field/index``."""
    path: str | None = None
    line: int | None = None
    rev: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The decision as its line of the review file (without the newline)."""
        out: dict[str, Any] = {"fingerprint": self.fingerprint, "decision": self.decision}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.codes is not None:
            out["codes"] = list(self.codes)
        if self.edits:
            out["edits"] = [{"turn": turn, "text": text} for turn, text in self.edits.items()]
        if self.path is not None:
            out["path"] = self.path
        if self.line is not None:
            out["line"] = self.line
        out["rev"] = self.rev
        return out

    @classmethod
    def from_dict(cls, entry: Any) -> Decision:
        """Read one line of the review file; raises :class:`ReviewError` when malformed."""
        if not isinstance(entry, dict):
            raise ReviewError("a decision is a JSON object")
        fingerprint, kind = entry.get("fingerprint"), entry.get("decision")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ReviewError("a decision needs its record's fingerprint")
        if kind not in KINDS:
            raise ReviewError(f"unknown decision {kind!r} (accept, reject or edit)")
        codes = entry.get("codes")
        edits = entry.get("edits") or []
        try:
            return cls(
                fingerprint=fingerprint,
                decision=kind,
                reason=_optional(entry.get("reason"), str),
                codes=None if codes is None else tuple(str(c) for c in codes),
                edits={_turn(e["turn"]): str(e["text"]) for e in edits},
                path=_optional(entry.get("path"), str),
                line=_optional(entry.get("line"), int),
                rev=int(entry.get("rev", 1)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ReviewError(f"malformed decision: {err}") from None

    def accepts(self, code: str) -> bool:
        """Whether this decision suppresses findings of ``code`` on its record."""
        return self.decision == "accept" and (self.codes is None or code in self.codes)


def _optional(value: Any, kind: type) -> Any:
    if value is None or isinstance(value, kind):
        return value
    raise ValueError(f"{value!r} is not a {kind.__name__}")


def _turn(turn: int | str) -> str:
    """A turn as ``field/index``: ``2`` is ``messages/2``; ``/chosen/0`` is ``chosen/0``."""
    if isinstance(turn, int) and not isinstance(turn, bool):
        if turn < 0:
            raise ValueError(f"turn {turn} is negative")
        return f"messages/{turn}"
    if not isinstance(turn, str):
        raise ValueError(f"a turn is an index or field/index, not {turn!r}")
    name, _, index = turn.strip("/").partition("/")
    if name not in ("messages", "chosen", "rejected") or not index.isdigit():
        raise ValueError(f"a turn is messages/N, chosen/N or rejected/N, not {turn!r}")
    return f"{name}/{int(index)}"


def fingerprint_of(record: str | int | Finding) -> str:
    """The fingerprint of ``record``: a fingerprint itself (16 hex digits), a fact table's
    integer fingerprint, or a finding's record."""
    if isinstance(record, Finding):
        if not record.fingerprint:
            raise ReviewError(f"{record.code} is about no single record")
        return record.fingerprint
    if isinstance(record, int):
        return f"{record:016x}"
    return record


_THREAD_LOCKS: dict[Path, threading.Lock] = {}


class Review:
    """A review file, read and written from Python (the review page writes the same file).

    >>> review = Review("train.jsonl.review")                  # doctest: +SKIP
    >>> review.reject(finding, "wrong answer")                 # a finding, or a fingerprint
    >>> review.edit(finding, 2, "The corrected answer.")       # turn 2 of ``messages``
    >>> review.reject_code(ftprep.check("train.jsonl"), "Q002", reason="refusal")

    Every change is saved before the method returns (see the module documentation); reads
    see the file as it is now, changes made elsewhere included.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = _THREAD_LOCKS.setdefault(self.path.resolve(), threading.Lock())

    def __repr__(self) -> str:
        return f"Review({str(self.path)!r})"

    # --- reading ---------------------------------------------------------------------------

    def decisions(self) -> dict[str, Decision]:
        """Every decision, by fingerprint, in the order they were first made."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise ReviewError(f"cannot read review file {self.path}: {err.strerror}") from None
        out: dict[str, Decision] = {}
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                decision = Decision.from_dict(orjson.loads(line))
            except orjson.JSONDecodeError as err:
                raise ReviewError(
                    f"{self.path}:{number}: not JSON ({err}); is it a review file?"
                ) from None
            except ReviewError as err:
                raise ReviewError(f"{self.path}:{number}: {err}") from None
            out[decision.fingerprint] = decision
        return out

    def get(self, record: str | int | Finding) -> Decision | None:
        """The decision about ``record``, or ``None``."""
        return self.decisions().get(fingerprint_of(record))

    def __len__(self) -> int:
        return len(self.decisions())

    def __iter__(self) -> Iterator[Decision]:
        return iter(self.decisions().values())

    def counts(self) -> dict[str, int]:
        """How many records were accepted, rejected and edited."""
        found = Counter(d.decision for d in self.decisions().values())
        return {kind: found[kind] for kind in KINDS}

    def sha256(self) -> str | None:
        """The file's sha256 (``None`` when it does not exist yet)."""
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except FileNotFoundError:
            return None

    # --- writing ---------------------------------------------------------------------------

    def accept(
        self,
        record: str | int | Finding,
        codes: Iterable[str] | None = None,
        *,
        expect_rev: int | None = None,
        where: tuple[str, int] | None = None,
    ) -> Decision:
        """Accept ``record``: its findings of ``codes`` (all when ``None``) are suppressed."""
        fixed = None if codes is None else tuple(sorted(set(codes)))
        return self._decide(record, "accept", codes=fixed, expect_rev=expect_rev, where=where)

    def reject(
        self,
        record: str | int | Finding,
        reason: str,
        *,
        expect_rev: int | None = None,
        where: tuple[str, int] | None = None,
    ) -> Decision:
        """Reject ``record`` for ``reason`` (one of :data:`REASONS`, or any text)."""
        if not reason.strip():
            raise ReviewError("a rejection needs a reason")
        text = reason.strip()
        return self._decide(record, "reject", reason=text, expect_rev=expect_rev, where=where)

    def edit(
        self,
        record: str | int | Finding,
        turn: int | str,
        text: str,
        *,
        expect_rev: int | None = None,
        where: tuple[str, int] | None = None,
    ) -> Decision:
        """Replace the text of ``turn`` of ``record`` (an index into ``messages``, or
        ``chosen/0``...) with ``text``; earlier edits of its other turns are kept."""
        try:
            key = _turn(turn)
        except ValueError as err:
            raise ReviewError(str(err)) from None
        return self._decide(record, "edit", edits={key: text}, expect_rev=expect_rev, where=where)

    def clear(self, record: str | int | Finding, *, expect_rev: int | None = None) -> None:
        """Forget the decision about ``record`` (it is unreviewed again)."""
        fingerprint = fingerprint_of(record)
        with self._locked() as current:
            _expect(current.get(fingerprint), expect_rev)
            if current.pop(fingerprint, None) is not None:
                self._save(current)

    def accept_cluster(self, check: CheckResult, record: str | int | Finding) -> int:
        """Accept every member of ``record``'s duplicate cluster in ``check`` (the record
        alone when it has no duplicate). Returns how many records were accepted."""
        from ftprep.review.data import cluster_rows  # the check's facts, only when asked

        fingerprint = fingerprint_of(record)
        facts = check.facts
        rows = [r for r in range(len(facts)) if f"{int(facts.fingerprint[r]):016x}" == fingerprint]
        if not rows:
            raise ReviewError(f"no record with fingerprint {fingerprint} in the check")
        members = cluster_rows(check)[rows[0]]
        return self._bulk({f"{int(facts.fingerprint[r]):016x}": None for r in members}, "accept")

    def reject_code(
        self, check: CheckResult, code: str, *, path: str | None = None, reason: str | None = None
    ) -> int:
        """Reject every record with a finding of ``code`` in ``check`` (in the file ``path``
        only, when given), for ``reason`` (default: the code). Returns how many."""
        chosen = {
            f.fingerprint: None
            for f in check.findings
            if f.code == code and f.fingerprint and (path is None or _same_file(f.path, path))
        }
        return self._bulk(chosen, "reject", reason=reason or code)

    def _bulk(self, fingerprints: Mapping[str, None], kind: Kind, reason: str | None = None) -> int:
        with self._locked() as current:
            for fingerprint in fingerprints:
                old = current.get(fingerprint)
                current[fingerprint] = Decision(
                    fingerprint, kind, reason=reason, rev=old.rev + 1 if old else 1
                )
            if fingerprints:
                self._save(current)
        return len(fingerprints)

    def _decide(
        self,
        record: str | int | Finding,
        kind: Kind,
        *,
        reason: str | None = None,
        codes: tuple[str, ...] | None = None,
        edits: dict[str, str] | None = None,
        expect_rev: int | None = None,
        where: tuple[str, int] | None = None,
    ) -> Decision:
        fingerprint = fingerprint_of(record)
        if isinstance(record, Finding) and where is None and record.line is not None:
            where = (record.path, record.line)
        with self._locked() as current:
            old = current.get(fingerprint)
            _expect(old, expect_rev)
            merged = {**(old.edits if old and old.decision == "edit" else {}), **(edits or {})}
            new = Decision(
                fingerprint,
                kind,
                reason=reason,
                codes=codes,
                edits=merged if kind == "edit" else {},
                path=where[0] if where else old.path if old else None,
                line=where[1] if where else old.line if old else None,
                rev=old.rev + 1 if old else 1,
            )
            current[fingerprint] = new
            self._save(current)
        return new

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Decision]]:
        """Hold the file's lock (threads and processes) and yield its decisions as they are."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            with open(lock_path, "a+b") as lock:
                if fcntl is not None:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                try:
                    yield self.decisions()
                finally:
                    if fcntl is not None:
                        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _save(self, decisions: dict[str, Decision]) -> None:
        from ftprep.write.files import write_atomic  # reading a review needs no writer

        lines = b"".join(
            orjson.dumps(d.to_dict(), option=orjson.OPT_APPEND_NEWLINE) for d in decisions.values()
        )
        write_atomic(self.path, lines)


def _expect(old: Decision | None, rev: int | None) -> None:
    """Refuse a change made on a view of the record older than its stored decision."""
    current = old.rev if old else 0
    if rev is not None and rev != current:
        raise ReviewConflict(
            "this record's decision was changed elsewhere (another tab or process) since it "
            "was shown; reload to see the current decision"
        )


def _same_file(a: str, b: str) -> bool:
    with contextlib.suppress(OSError):
        return Path(a).samefile(b)
    return a == b
