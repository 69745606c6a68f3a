"""Content keys of an example: 64-bit hashes of its normalised conversation, prompt side,
answer side and system prompt. Exact duplicates, contradictions, system-prompt consistency
and split assignment all work from these keys.

The sides of an example (:func:`sides`) are shared with the MinHash signer, so that the
``prompt`` and ``answer`` comparisons of near-duplicate detection mean the same turns as the
keys here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import xxhash

from ftprep.model import SYSTEM_ROLES, Example, Message

_SEPARATOR = "\x1f"


def normalize(text: str, *, case_sensitive: bool = False) -> str:
    """Unicode NFC, whitespace runs collapsed to one space, trimmed, case folded unless
    ``case_sensitive``."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    # Every character str.split() splits on but the space is unprintable, so a printable text
    # without double or outer spaces is already collapsed (most texts: no new string made).
    if not (text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "):
        # str.split() splits on exactly the characters ``\s`` matches, several times faster.
        text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


def _key(parts: list[str]) -> int:
    if not parts:
        return 0
    return _hash(_SEPARATOR.join(parts))


def _hash(text: str) -> int:
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass")) or 1


Entries = Sequence[tuple[str, int, Message]]
"""``(field, index, message)`` of an example's messages, as :meth:`Example.iter_messages`
yields them."""


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


def record_keys(
    example: Example, *, case_sensitive: bool = False, entries: Entries | None = None
) -> tuple[int, int, int, int]:
    """``(exact, prompt, answer, system)`` keys of ``example``; 0 where a side is empty.

    ``exact`` covers every turn (``chosen`` and ``rejected`` included, each marked with its
    field); ``prompt`` and ``answer`` follow :func:`sides`. Preference data (``chosen`` /
    ``rejected``) and labelled data (KTO's ``label``) have no answer key: their answers are
    judged against each other or by their label, not learned as *the* answer to the prompt,
    so several different answers to one prompt are the point there, not a contradiction.
    ``entries`` saves walking the example's messages again when the caller has them.
    """
    if entries is None:
        entries = list(example.iter_messages())
    fields: list[str] = []
    roles: list[str] = []
    texts: list[str] = []
    for field_name, _i, message in entries:
        role = message.role
        fields.append(field_name)
        roles.append(role if isinstance(role, str) else "")
        texts.append(normalize(message.text(), case_sensitive=case_sensitive))
    if not texts:
        return 0, 0, 0, 0
    prompt, answer = sides(fields, roles)
    # The exact and prompt keys hash the same turns up to the prompt's end: one streaming
    # hash gives both (a streamed digest equals the digest of the joined text).
    stream = xxhash.xxh3_64()
    prompt_key = 0
    system: list[str] = []
    for i, (field_name, role, text) in enumerate(zip(fields, roles, texts, strict=True)):
        if i == prompt.stop and i:
            prompt_key = stream.intdigest() or 1
        part = f"{role}:{text}" if field_name == "messages" else f"{field_name}/{role}:{text}"
        stream.update((f"{_SEPARATOR}{part}" if i else part).encode("utf-8", "surrogatepass"))
        if i < prompt.stop and role in SYSTEM_ROLES:
            system.append(text)
    exact_key = stream.intdigest() or 1
    if prompt.stop == len(texts):
        prompt_key = exact_key
    labelled = example.is_preference or example.label is not None
    return (
        exact_key,
        prompt_key,
        _hash(texts[answer]) if answer >= 0 and not labelled else 0,
        _key(system),
    )
