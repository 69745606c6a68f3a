"""Content keys of an example: 64-bit hashes of its normalised conversation, prompt side,
answer side and system prompt. Exact duplicates, contradictions, system-prompt consistency
and split assignment all work from these keys.

A text is normalised by Unicode NFC, collapsing whitespace runs (what ``str.split()`` splits
on) to one space and trimming them, and case folding unless ``dedup.case-sensitive``. The
keys hash (xxh3, 64 bits) every turn as ``role:text`` (``field/role:text`` for ``chosen`` and
``rejected``) joined by U+001F, built in C (:mod:`ftprep.dedup._keys`, or :func:`joined_text`
where it is not built, see :mod:`ftprep._accel`): the prompt key hashes a prefix of the same
bytes, the answer and system keys the spans of their texts.

The sides of an example (:func:`sides`) are shared with the MinHash signer, so that the
``prompt`` and ``answer`` comparisons of near-duplicate detection mean the same turns as the
keys here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import xxhash

from ftprep._accel import extension
from ftprep.model import SYSTEM_ROLES, Example
from ftprep.view import Columns, ExampleView


def sides(fields: list[str], roles: list[str]) -> tuple[range, int]:
    """Split an example's turns (in :meth:`Example.iter_messages` order, given by their
    ``fields`` and ``roles``) into ``(prompt turns, answer turn)``.

    The answer is the last assistant turn of ``chosen`` when the example has one (preference
    data), else of ``messages``; ``-1`` when there is none. The prompt is every turn of
    ``messages`` before the answer (system turns included), or all of ``messages`` when there
    is no answer.
    """
    answer_field = "chosen" if "chosen" in fields else "messages"
    answer = -1
    for i in range(len(fields) - 1, -1, -1):
        if roles[i] == "assistant" and fields[i] == answer_field:
            answer = i
            break
    # ``messages`` turns come first in that order, so the prompt is a prefix.
    in_messages = fields.count("messages")
    end = answer if answer >= 0 and answer_field == "messages" else in_messages
    return range(min(end, in_messages)), answer


def normalised(text: str, case_sensitive: bool) -> str:
    """``text`` as content keys see it: NFC, whitespace runs collapsed to one space and
    trimmed, case folded unless ``case_sensitive``."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text if case_sensitive else text.casefold()


def joined_text(
    fields: list[str], roles: list[str], texts: list[str], case_sensitive: bool
) -> tuple[bytes, list[int]]:
    """Every turn as ``role:text`` (``field/role:text`` outside ``messages``) joined by
    U+001F, as UTF-8 (lone surrogates passed through), each text :func:`normalised`; and per
    turn the byte offsets where its text starts and ends. The plain-Python twin of
    ``_keys.joined``."""
    data = bytearray()
    bounds: list[int] = []
    for i, (field, role, text) in enumerate(zip(fields, roles, texts, strict=True)):
        prefix = f"{role}:" if field == "messages" else f"{field}/{role}:"
        if i:
            data += b"\x1f"
        data += prefix.encode("utf-8", "surrogatepass")
        bounds.append(len(data))
        data += normalised(text, case_sensitive).encode("utf-8", "surrogatepass")
        bounds.append(len(data))
    return bytes(data), bounds


_keys = extension("dedup._keys")
_joined: Callable[[list[str], list[str], list[str], bool], tuple[bytes, list[int]]] = (
    joined_text if _keys is None else _keys.joined
)


def record_keys(
    example: Example,
    *,
    case_sensitive: bool = False,
    columns: Columns | None = None,
) -> tuple[int, int, int, int]:
    """``(exact, prompt, answer, system)`` keys of ``example``; 0 where a side is empty.

    ``exact`` covers every turn (``chosen`` and ``rejected`` included, each marked with its
    field); ``prompt`` and ``answer`` follow :func:`sides`. Preference data (``chosen`` /
    ``rejected``) and labelled data (KTO's ``label``) have no answer key: their answers are
    judged against each other or by their label, not learned as *the* answer to the prompt,
    so several different answers to one prompt are the point there, not a contradiction.
    ``columns``: the example's view's, when the caller has it.
    """
    fields, roles, texts = ExampleView.of(example).columns if columns is None else columns
    if not fields:
        return 0, 0, 0, 0
    data, bounds = _joined(fields, roles, texts, case_sensitive)
    view = memoryview(data)
    prompt, answer = sides(fields, roles)
    exact = _hash(view)
    if prompt.stop == len(texts):
        prompt_key = exact
    else:
        prompt_key = _hash(view[: bounds[2 * prompt.stop - 1]]) if prompt.stop else 0
    labelled = example.is_preference or isinstance(example.label, bool)
    answer_key = 0
    if answer >= 0 and not labelled:
        answer_key = _hash(view[bounds[2 * answer] : bounds[2 * answer + 1]])
    system = [view[bounds[2 * i] : bounds[2 * i + 1]] for i in prompt if roles[i] in SYSTEM_ROLES]
    system_key = 0
    if system:
        system_key = _hash(system[0] if len(system) == 1 else b"\x1f".join(system))
    return exact, prompt_key, answer_key, system_key


def _hash(data: bytes | memoryview) -> int:
    return xxhash.xxh3_64_intdigest(data) or 1


class KeyColumns:
    """The fact table's content keys of a record (:func:`record_keys`)."""

    columns = ("exact_key", "prompt_key", "answer_key", "system_key")

    def __init__(self, *, case_sensitive: bool = False):
        self.case_sensitive = case_sensitive

    def values(self, view: ExampleView, tokens: object) -> tuple[int, int, int, int]:
        """The keys of one record (its token counts are not needed)."""
        return record_keys(view.example, case_sensitive=self.case_sensitive, columns=view.columns)
