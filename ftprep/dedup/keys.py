"""Content keys of an example: 64-bit hashes of its normalised conversation, prompt side,
answer side and system prompt. Exact duplicates, contradictions, system-prompt consistency
and split assignment all work from these keys.

A text is normalised by Unicode NFC, collapsing whitespace runs (what ``str.split()`` splits
on) to one space and trimming them, and case folding unless ``dedup.case-sensitive``. The
keys hash (xxh3, 64 bits) every turn as ``role:text`` (``field/role:text`` for ``chosen`` and
``rejected``) joined by U+001F, built in C (:mod:`ftprep.dedup._keys`, or :func:`joined_text`
where it is not built, see :mod:`ftprep._accel`): the prompt key hashes a prefix of the same
bytes, the answer and system keys the spans of their texts.

Everything else the model is trained on counts too, verbatim (:func:`trained_extras`): a
message's other keys (tool calls with their names and arguments, ``weight``, ``name``,
reasoning fields...), the non-text parts of a content list (images, in place) and the text
inside code fences (where indentation is meaning, not layout), hashed and appended to the
turn's text; the tools an example declares seed its exact and prompt keys. So twelve weather
calls for twelve cities, or twelve questions about twelve pictures, are twelve examples.

The sides of an example (:func:`sides`) are shared with the MinHash signer, so that the
``prompt`` and ``answer`` comparisons of near-duplicate detection mean the same turns as the
keys here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import orjson
import xxhash

from ftprep._accel import extension
from ftprep.model import SYSTEM_ROLES, ContentPart, Example, Message
from ftprep.view import TOOL_KEYS, ExampleView

#: Message keys whose values are the message's text, which the keys normalise themselves.
_TEXT_KEYS = frozenset({"role", "content"})
#: Code fence openers: inside a fence whitespace is kept as it is.
_FENCES = ("```", "~~~")


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


def _dumps(value: Any) -> bytes:
    """``value`` as canonical JSON (sorted keys, pydantic models as their fields set)."""
    return orjson.dumps(
        value, default=_plain, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    )


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(exclude_unset=True)
    return repr(value)


def fenced_code(text: str) -> str:
    """The lines inside code fences (three backticks or tildes) of ``text``, verbatim, fence
    lines included; ``""`` when it has none. An unclosed fence runs to the end."""
    if "```" not in text and "~~~" not in text:
        return ""
    kept: list[str] = []
    fence = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if not fence:
            opener = next((f for f in _FENCES if stripped.startswith(f)), "")
            if opener:
                fence = opener
                kept.append(line)
            continue
        kept.append(line)
        if stripped.startswith(fence) and not stripped[len(fence) :].strip():
            fence = ""
    return "\n".join(kept)


def message_extras(message: Message) -> bytes:
    """What the model is trained on in ``message`` beyond its text, as canonical JSON: its
    other keys (those not null) and the non-text parts of a content list (text parts without
    their text, keeping the order); ``b""`` when there is nothing."""
    extra: dict[str, Any] = {}
    for key in message.__pydantic_fields_set__ - _TEXT_KEYS:
        value = getattr(message, key, None)
        # null is what an absent key means; a weight means something on assistant turns
        # only, and 1 is what an absent weight means.
        if value is not None and not (
            key == "weight" and (value == 1 or message.role != "assistant")
        ):
            extra[key] = value
    content = message.content
    if not isinstance(content, str) and content is not None:
        if isinstance(content, list):
            extra["\x00parts"] = [
                p.model_dump(exclude_unset=True, exclude={"text"})
                if isinstance(p, ContentPart) and isinstance(p.text, str)
                else p
                for p in content
            ]
        else:
            extra["\x00content"] = content
    return _dumps(extra) if extra else b""


def turn_extras(view: ExampleView) -> tuple[list[bytes] | None, int]:
    """Per entry of ``view``, its :func:`message_extras` (``None`` when no entry has any);
    and the hash of the tools the example declares (``0`` when none). Computed once per
    view: the keys and the signer both read them."""
    return view.memo(turn_extras, lambda: _turn_extras(view))


def _turn_extras(view: ExampleView) -> tuple[list[bytes] | None, int]:
    traits = view.traits
    tools = 0
    if traits.tool_keys:
        example = view.example
        declared = {k: getattr(example, k) for k in TOOL_KEYS}
        if any(v is not None for v in declared.values()):
            tools = xxhash.xxh3_64_intdigest(_dumps(declared))
    if traits.keys <= _TEXT_KEYS and not traits.odd_content:
        return None, tools
    extras = [message_extras(message) for _f, _i, message in view.entries]
    return (extras if any(extras) else None), tools


def trained_extras(view: ExampleView) -> tuple[list[str], int]:
    """The texts the keys hash for ``view``: each turn's text, with ``"\\0"`` and a hash
    of its :func:`message_extras` and :func:`fenced_code` appended where it has any; and the
    hash of the tools the example declares (``0`` when none), which seeds its exact and
    prompt keys."""
    texts = view.texts
    extras, tools = turn_extras(view)
    if extras is None:
        for text in texts:  # a loop, not any(): this runs on every record
            if "```" in text or "~~~" in text:
                break
        else:
            return texts, tools
    out = list(texts)
    for i, text in enumerate(texts):
        extra = extras[i] if extras is not None else b""
        code = fenced_code(text)
        if extra or code:
            digest = xxhash.xxh3_64_hexdigest(extra + b"\0" + code.encode("utf-8", "surrogatepass"))
            out[i] = f"{text}\0{digest}"
    return out, tools


def record_keys(
    example: Example,
    *,
    case_sensitive: bool = False,
    view: ExampleView | None = None,
) -> tuple[int, int, int, int]:
    """``(exact, prompt, answer, system)`` keys of ``example``; 0 where a side is empty.

    ``exact`` covers every turn (``chosen`` and ``rejected`` included, each marked with its
    field); ``prompt`` and ``answer`` follow :func:`sides`. Preference data (``chosen`` /
    ``rejected``) and labelled data (KTO's ``label``) have no answer key: their answers are
    judged against each other or by their label, not learned as *the* answer to the prompt,
    so several different answers to one prompt are the point there, not a contradiction;
    nor has an answer with ``weight: 0``, which is not trained on.
    Everything else the model is trained on counts as :func:`trained_extras` says. ``view``:
    the example's, when the caller has it.
    """
    if view is None:
        view = ExampleView.of(example)
    fields, roles, _texts = view.columns
    if not fields:
        return 0, 0, 0, 0
    texts, tools = trained_extras(view)
    data, bounds = _joined(fields, roles, texts, case_sensitive)
    joined = memoryview(data)
    prompt, answer = sides(fields, roles)
    exact = _hash(joined, tools)
    if prompt.stop == len(texts):
        prompt_key = exact
    else:
        prompt_key = _hash(joined[: bounds[2 * prompt.stop - 1]], tools) if prompt.stop else 0
    labelled = example.is_preference or isinstance(example.label, bool)
    answer_key = 0
    if answer >= 0 and not labelled and view.entries[answer][2].weight != 0:
        answer_key = _hash(joined[bounds[2 * answer] : bounds[2 * answer + 1]])
    system = [joined[bounds[2 * i] : bounds[2 * i + 1]] for i in prompt if roles[i] in SYSTEM_ROLES]
    system_key = 0
    if system:
        system_key = _hash(system[0] if len(system) == 1 else b"\x1f".join(system))
    return exact, prompt_key, answer_key, system_key


def _hash(data: bytes | memoryview, seed: int = 0) -> int:
    return xxhash.xxh3_64_intdigest(data, seed) or 1


class KeyColumns:
    """The fact table's content keys of a record (:func:`record_keys`)."""

    columns = ("exact_key", "prompt_key", "answer_key", "system_key")

    def __init__(self, *, case_sensitive: bool = False):
        self.case_sensitive = case_sensitive

    def values(self, view: ExampleView, tokens: object) -> tuple[int, int, int, int]:
        """The keys of one record (its token counts are not needed)."""
        return record_keys(view.example, case_sensitive=self.case_sensitive, view=view)
