"""The per-record view: one example as every per-record consumer reads it.

The engine builds one :class:`ExampleView` per record and hands it to the rules (through
their context) and to the dedup keys and signer. It holds the example's messages with their
field and index, the conversation's turns, their roles and texts, and a :class:`Traits`
summary that decides which rules can find anything in the example; the texts the quality and
privacy rules read (turns, trained answers, tool-call arguments, their joined and digit-shape
forms) are computed on first use and kept with the view, so the rules of one record share
them without a cache of their own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, overload

from ftprep.model import SYSTEM_ROLES, Example, FunctionCall, Message, ToolCall

TOOL_RESULT_ROLES = frozenset({"tool", "function"})
PAIR_FIELDS = ("chosen", "rejected")
_VIEW_FIELDS = ("messages", *PAIR_FIELDS)
#: Example-level keys the canonical model declares that a target may or may not accept.
TOOL_KEYS = ("tools", "parallel_tool_calls", "functions")
#: Longest content that may count as blank for being only chat-template special tokens
#: (``<|endoftext|>``): longer contents are never checked for that.
SHORT_MARKUP = 64
_DIGITS = b"0123456789"
_ZERO_DIGITS = bytes.maketrans(_DIGITS, b"0" * len(_DIGITS))

T = TypeVar("T")
V = TypeVar("V")


class cached(Generic[T, V]):
    """``functools.cached_property`` without its lock (Python 3.11 takes one on every first
    access: 0.55 against 0.18 us, several times per record): the value computed on first
    access is stored in the instance, which then shadows this descriptor."""

    def __init__(self, compute: Callable[[T], V]):
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type[T]) -> cached[T, V]: ...
    @overload
    def __get__(self, instance: T, owner: type[T]) -> V: ...
    def __get__(self, instance: T | None, owner: type[T]) -> cached[T, V] | V:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


def stray_label(example: Example) -> bool:
    """Whether the record sets a ``label`` that is not a boolean: a column of its own (a class,
    a reference answer), not the desirable/undesirable flag of KTO data."""
    return "label" in example.model_fields_set and not isinstance(example.label, bool)


Columns = tuple[list[str], list[str], list[str]]
"""The fields, roles (``""`` where not a string) and texts of an example's messages, in
:meth:`Example.iter_messages` order."""


class Traits(NamedTuple):
    """A small hashable summary of an example that decides which record rules can find
    anything in it. The engine runs, for each distinct summary, only the rules whose
    :meth:`~ftprep.rules.base.RecordRule.relevant` accepts it; almost every example of a file
    has the same summary, so the choice is made a handful of times per file."""

    dialect: str
    roles: frozenset[str]
    """The string roles of all messages."""
    keys: frozenset[str]
    """Every key set on any message."""
    odd_roles: bool
    """Some message has no role or a role that is not a string."""
    odd_content: bool
    """Some message's content is not a string (null, absent, a list, another type)."""
    odd_entries: bool
    """Some entry of messages, chosen or rejected is not a well-formed message."""
    tool_calls: bool
    """Some message has ``tool_calls`` or ``function_call``."""
    tool_results: bool
    """Some message has the role ``tool`` or ``function``."""
    weights: bool
    """Some message sets ``weight``."""
    messages_ok: bool
    """``messages`` is a non-empty list."""
    preference: bool
    """The example has ``chosen`` or ``rejected``."""
    tool_keys: bool
    """The record sets ``tools``, ``parallel_tool_calls`` or ``functions``."""
    extras: bool
    """The record has top-level keys the model does not declare, or a ``label`` that is not
    KTO's boolean (a column of its own)."""
    metadata: bool
    """The example carries metadata."""
    late_system: bool
    """A system or developer message of the conversation is not at position 0."""
    breaks_alternation: bool
    """User and assistant turns of the conversation do not alternate (see
    :func:`alternation_breaks`)."""
    ends_without_answer: bool
    """The conversation has an assistant turn but ends with another role's turn."""
    blank_content: bool
    """Some message's content is an empty or whitespace-only string, or a short one with
    ``<`` or ``[`` (it may be only chat-template tokens, see :data:`SHORT_MARKUP`)."""


@dataclass(slots=True)
class Turn:
    """The text of one message, and where it sits in the example. (Not frozen: a frozen
    dataclass costs several times more to build, and one is built per turn checked.)"""

    field: str
    """``messages``, ``chosen`` or ``rejected``."""
    index: int
    message: Message
    text: str
    role: str
    """The message's role, or ``""`` when it is not a string."""

    @property
    def pointer(self) -> str:
        """JSON pointer to the message's content (``/messages/2/content``)."""
        return f"/{self.field}/{self.index}/content"

    @property
    def message_index(self) -> int:
        """The message's index in its list."""
        return self.index


class Place(Protocol):
    """Where in an example a text is: a :class:`Turn` or a :class:`ScannedText`."""

    @property
    def message_index(self) -> int: ...
    @property
    def pointer(self) -> str: ...


class ScannedText(NamedTuple):
    """A piece of text of an example, and where it is."""

    message_index: int
    pointer: str
    role: str
    text: str


def alternation_breaks(turns: list[tuple[int, Message]]) -> Iterator[tuple[int, str]]:
    """``(index, problem)`` for turns that break user/assistant alternation: ``first`` for an
    assistant turn before any user turn, ``repeat`` for a second user or assistant turn in a
    row. System turns are skipped; tool results between an assistant's call and its next turn
    are the expected shape, not a break."""
    return _role_breaks((index, message.role) for index, message in turns)


@functools.lru_cache(maxsize=4096)
def _breaks_alternation(roles: tuple[str, ...]) -> bool:
    """Whether turns of these roles (``""`` for one that is not a string) break alternation:
    a file has a handful of role sequences, each judged once."""
    return next(_role_breaks(enumerate(roles)), None) is not None


def _role_breaks(roles: Iterable[tuple[int, object]]) -> Iterator[tuple[int, str]]:
    previous: Any = None
    after_tool = False
    for index, role in roles:
        if isinstance(role, str) and role in TOOL_RESULT_ROLES:
            after_tool = True
            continue
        if role != "user" and role != "assistant":
            continue
        if previous is None and role == "assistant":
            yield index, "first"
        elif role == previous and not (role == "assistant" and after_tool):
            yield index, "repeat"
        previous, after_tool = role, False


@dataclass(frozen=True, slots=True)
class Hits:
    """Which declared triggers hit in an example's texts (the engine's prefilter scan):
    those of ``compiled`` that are in ``found``. A trigger the scan did not look for (no scan
    ran, or no enabled rule declares it) counts as hit."""

    found: frozenset[Hashable] = frozenset()
    compiled: frozenset[Hashable] = frozenset()

    def __contains__(self, triggers: Hashable) -> bool:
        return triggers in self.found or triggers not in self.compiled


NO_SCAN = Hits()


class ExampleView:
    """One example's messages and texts, computed once per record and shared by every rule,
    the dedup keys and the signer (see the module's documentation)."""

    def __init__(
        self,
        example: Example,
        entries: list[tuple[str, int, Message]],
        fields: list[str],
        role_names: list[str],
        texts: list[str],
        conversation: list[tuple[int, Message]],
        traits: Traits,
    ):
        self.example = example
        self.entries = entries
        """Every well-formed message, as ``(field, index, message)``."""
        self.fields = fields
        """Each entry's field (``messages``, ``chosen`` or ``rejected``)."""
        self.role_names = role_names
        """Each entry's role (``""`` where it is not a string)."""
        self.texts = texts
        """Each entry's text (:meth:`Message.text`)."""
        self.conversation = conversation
        """The messages of ``messages``, as ``(index, message)``."""
        self.traits = traits
        self.hits = NO_SCAN
        """The rules' triggers found in the texts (the engine sets them; every trigger
        counts as hit until then)."""
        self.columns: Columns = (fields, role_names, texts)
        """The fields, roles and texts of the messages (what the dedup keys hash)."""
        self._memo: dict[Any, Any] | None = None

    @classmethod
    def of(cls, example: Example) -> ExampleView:
        """The view of ``example``, in one pass over its messages."""
        entries: list[tuple[str, int, Message]] = []
        fields: list[str] = []
        role_names: list[str] = []
        texts: list[str] = []
        conversation: list[tuple[int, Message]] = []
        roles: set[str] = set()
        keys: set[str] = set()
        odd_roles = odd_content = odd_entries = blank = late_system = False
        for field in _VIEW_FIELDS:
            value = getattr(example, field)
            if not isinstance(value, list):
                continue
            in_messages = field == "messages"
            for index, message in enumerate(value):
                if not isinstance(message, Message):
                    odd_entries = True
                    continue
                entries.append((field, index, message))
                fields.append(field)
                role = message.role
                if isinstance(role, str):
                    role_names.append(role)
                    roles.add(role)
                    if in_messages and index > 0 and role in SYSTEM_ROLES:
                        late_system = True
                else:
                    role_names.append("")
                    odd_roles = True
                if in_messages:
                    conversation.append((index, message))
                content = message.content
                if type(content) is str:
                    texts.append(content)
                    if (
                        not content
                        or content.isspace()
                        or (len(content) <= SHORT_MARKUP and ("<" in content or "[" in content))
                    ):
                        blank = True
                else:
                    texts.append(message.text())
                    odd_content = True
                keys.update(message.__pydantic_fields_set__)
        messages = example.messages
        preference = example.is_preference
        last_turn = conversation[-1][1].role if conversation else None
        traits = Traits(
            example.dialect,
            frozenset(roles),
            frozenset(keys),
            odd_roles,
            odd_content,
            odd_entries,
            "tool_calls" in keys or "function_call" in keys,
            not roles.isdisjoint(TOOL_RESULT_ROLES),
            "weight" in keys,
            isinstance(messages, list) and len(messages) > 0,
            preference,
            not example.model_fields_set.isdisjoint(TOOL_KEYS),
            bool(example.model_extra) or stray_label(example),
            bool(example.metadata),
            late_system,
            _breaks_alternation(tuple(role_names[: len(conversation)])),
            (
                not preference
                and last_turn != "assistant"
                and isinstance(last_turn, str)
                and "assistant" in role_names[: len(conversation)]
            ),
            blank,
        )
        return cls(example, entries, fields, role_names, texts, conversation, traits)

    @property
    def roles(self) -> frozenset[str]:
        """The string roles of all messages."""
        return self.traits.roles

    @property
    def tool_calls(self) -> bool:
        """Some message has ``tool_calls`` or ``function_call``."""
        return self.traits.tool_calls

    @property
    def tool_results(self) -> bool:
        """Some message has the role ``tool`` or ``function``."""
        return self.traits.tool_results

    @property
    def weights(self) -> bool:
        """Some message sets ``weight``."""
        return self.traits.weights

    @property
    def odd_entries(self) -> bool:
        """Some entry of messages, chosen or rejected is not a well-formed message."""
        return self.traits.odd_entries

    @cached
    def turns(self) -> tuple[Turn, ...]:
        """Every message that has text, in order (messages, chosen, rejected)."""
        return tuple(
            Turn(field_name, index, message, text, role)
            for (field_name, index, message), role, text in zip(
                self.entries, self.role_names, self.texts, strict=True
            )
            if text
        )

    @cached
    def trained_answers(self) -> tuple[Turn, ...]:
        """The assistant turns a model learns to produce.

        Skipped: turns with ``weight: 0`` (not trained on), ``rejected`` continuations of
        preference pairs and every turn of a KTO example labelled undesirable (``label:
        false``): a bad answer there is the point of the example.
        """
        if self.example.label is False:
            return ()
        entries, texts = self.entries, self.texts
        found = []
        for at in self._assistants():
            field_name, index, message = entries[at]
            text = texts[at]
            if text and field_name != "rejected" and message.weight != 0:
                found.append(Turn(field_name, index, message, text, "assistant"))
        return tuple(found)

    @cached
    def rejected_answers(self) -> tuple[Turn, ...]:
        """The assistant turns of ``rejected``: not trained on as answers, but a pair whose
        rejected side is cut off or empty teaches that, not the preference."""
        entries, texts = self.entries, self.texts
        return tuple(
            Turn("rejected", entries[at][1], entries[at][2], texts[at], "assistant")
            for at in self._assistants()
            if entries[at][0] == "rejected" and texts[at]
        )

    def _assistants(self) -> list[int]:
        """The positions of the assistant entries (found by C-level list scans: every record
        asks)."""
        names = self.role_names
        found: list[int] = []
        at = -1
        for _ in range(names.count("assistant")):
            at = names.index("assistant", at + 1)
            found.append(at)
        return found

    @cached
    def lowered_answers(self) -> tuple[str, ...]:
        """The :attr:`trained_answers`' texts in lower case."""
        return tuple(turn.text.lower() for turn in self.trained_answers)

    @cached
    def scanned_texts(self) -> tuple[ScannedText, ...]:
        """Every text a secret can hide in: message contents, the argument strings of
        tool calls and legacy function calls, and messages' ``name`` fields."""
        found: list[ScannedText] = []
        for field_name, index, message in self.entries:
            role = message.role if isinstance(message.role, str) else "message"
            base = f"/{field_name}/{index}"
            text = message.text()
            if text:
                found.append(ScannedText(index, f"{base}/content", role, text))
            calls = message.tool_calls
            if isinstance(calls, list):
                for j, call in enumerate(calls):
                    if isinstance(call, ToolCall) and isinstance(call.function, FunctionCall):
                        arguments = call.function.arguments
                        if isinstance(arguments, str) and arguments:
                            pointer = f"{base}/tool_calls/{j}/function/arguments"
                            found.append(ScannedText(index, pointer, role, arguments))
            legacy = message.function_call
            if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
                pointer = f"{base}/function_call/arguments"
                found.append(ScannedText(index, pointer, role, legacy["arguments"]))
            if isinstance(message.name, str) and message.name:
                found.append(ScannedText(index, f"{base}/name", role, message.name))
        return tuple(found)

    @cached
    def joined_texts(self) -> str:
        """Every :attr:`scanned_texts` text joined by newlines (so every turn's text too): a
        substring absent there is absent from each of them, so a rule tests its triggers
        once per example."""
        if not self.tool_calls and "name" not in self.traits.keys:
            # No tool or function calls or names: the scanned texts are the messages' texts,
            # and the per-text records (with their pointers) are built only when needed.
            return "\n".join([text for _f, _i, m in self.entries if (text := m.text())])
        return "\n".join([item.text for item in self.scanned_texts])

    @cached
    def digit_shapes(self) -> bytes:
        """:attr:`joined_texts` as UTF-8 with every ASCII digit replaced by ``0``: a
        number's shape (``0000-0000``) is then found by a substring test, without a regex
        trying every digit of digit-heavy text."""
        return self.joined_texts.encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS)

    @cached
    def digits(self) -> int:
        """ASCII digits in all of the texts: a bound on any one text's digits."""
        return self.digit_shapes.count(b"0")

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()``, once per view and ``key``: what several rules of one record derive
        alike (the target's writing of the example)."""
        memo = self._memo
        if memo is None:
            memo = self._memo = {}
        try:
            result: T = memo[key]
        except KeyError:
            result = memo[key] = compute()
        return result
