"""S: Structure: the keys, types and roles a record must have.

Every rule here reads the canonical example as loaded, where a value of the wrong type is
kept as it was (see :mod:`ftprep.model`), and points at it with a JSON pointer
(``/messages/2/content``). Messages of preference pairs are checked like the conversation's,
under ``/chosen/i`` and ``/rejected/i``.

The helpers (:class:`MessageRule`, :func:`calls_tools`, :func:`tool_calls_of`,
:func:`function_of`) are shared with the R rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ftprep.findings import Finding, Severity
from ftprep.model import SYSTEM_ROLES, ContentPart, Example, FunctionCall, Message, ToolCall
from ftprep.rules.base import RecordRule, Rule
from ftprep.rules.context import RecordContext
from ftprep.view import PAIR_FIELDS, TOOL_KEYS, TOOL_RESULT_ROLES, Traits, stray_label


def show(value: Any, width: int = 40) -> str:
    """A short, readable rendering of a value for a finding message."""
    if isinstance(value, str):
        text = value if len(value) <= width else value[: width - 1] + "…"
        return repr(text)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def kind(value: Any) -> str:
    """The JSON type name of a value: ``a string``, ``a number``, ``null``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def message_pointer(field: str, index: int, key: str = "") -> str:
    """``/messages/2`` or ``/chosen/0/content``."""
    return f"/{field}/{index}/{key}" if key else f"/{field}/{index}"


def calls_tools(message: Message) -> bool:
    """Whether an assistant message calls tools (``tool_calls`` or legacy ``function_call``),
    which lets it go without text content."""
    calls = message.tool_calls
    return (isinstance(calls, list) and len(calls) > 0) or message.function_call is not None


def tool_calls_of(message: Message) -> list[tuple[int, Any]]:
    """``(index, call)`` for each entry of a list ``tool_calls`` (calls that did not parse as
    :class:`ToolCall` are kept as raw values)."""
    calls = message.tool_calls
    return list(enumerate(calls)) if isinstance(calls, list) else []


def function_of(call: Any) -> tuple[Any, Any]:
    """``(name, arguments)`` of a tool call's function; ``(None, None)`` when it has none."""
    function = call.function if isinstance(call, ToolCall) else None
    if isinstance(call, dict):
        function = call.get("function")
    if isinstance(function, FunctionCall):
        return function.name, function.arguments
    if isinstance(function, dict):
        return function.get("name"), function.get("arguments")
    return None, None


def call_id(call: Any) -> Any:
    """A tool call's ``id`` (``None`` when absent)."""
    if isinstance(call, ToolCall):
        return call.id
    return call.get("id") if isinstance(call, dict) else None


class MessageRule(RecordRule):
    """A record rule that looks at one message at a time, over the conversation and both sides
    of a preference pair.

    Subclasses implement :meth:`check_message` as a plain function (returning ``()`` in the
    common case of nothing to report, so that no generator is built per message) and may
    override :meth:`relevant` to skip examples at once.
    """

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Run :meth:`check_message` on every well-formed message of the example."""
        view = ctx.view_of(example)
        if not self.relevant(view.traits, ctx):
            return []
        found: list[Finding] = []
        for field, index, message in view.entries:
            found.extend(self.check_message(example, ctx, field, index, message))
        return found

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """The findings for one message."""
        raise NotImplementedError

    def at(
        self,
        example: Example,
        field: str,
        index: int,
        text: str,
        *,
        key: str = "",
        hint: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding:
        """A finding pointing at message ``index`` of ``field`` (and ``key`` inside it); the
        message index is set for conversation messages."""
        return self.finding(
            example,
            text,
            message_index=index if field == "messages" else None,
            pointer=message_pointer(field, index, key),
            hint=hint,
            data=data,
        )


class MissingMessages(RecordRule):
    """The record has no conversation: ``messages`` is missing or an empty list.

    A chat fine-tuning example is its messages; without them there is nothing to train on,
    and providers reject the whole file for one such line. It usually means the record was
    written before its messages were filled in, or the field is named differently
    (``conversation``, ``message``).

    Fix: fill in the messages, rename the field to ``messages``, or drop the record.
    """

    code = "S001"
    name = "missing-messages"
    severity = Severity.ERROR
    summary = "Record has no messages"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples without a non-empty messages list."""
        return not traits.messages_ok

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report an absent or empty ``messages`` list."""
        found: list[Finding] = []
        messages = example.messages
        if isinstance(messages, list) and not messages:
            if example.is_preference:
                text = "preference pair has no prompt"
            elif "messages" in example.model_fields_set:
                text = "messages is empty"
            else:
                text = "messages is missing"
            found.append(
                self.finding(
                    example,
                    text,
                    pointer="/messages",
                    hint="add the conversation under 'messages', or drop the record",
                )
            )
        return found


class MessagesNotAList(RecordRule):
    """``messages`` holds something other than a list (a string, an object, null).

    Providers expect a list of message objects. A string here is often a conversation that was
    serialised twice (``"messages": "[{\\"role\\": ...}]"``), an object a single message that
    was not wrapped in a list.

    Fix: store the messages as a JSON list of objects; decode a doubly encoded string once.
    """

    code = "S002"
    name = "messages-not-a-list"
    severity = Severity.ERROR
    summary = "messages is not a list"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples without a non-empty messages list."""
        return not traits.messages_ok

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report a ``messages`` value that is not a list."""
        found: list[Finding] = []
        messages = example.messages
        if not isinstance(messages, list):
            hint = (
                "decode the string: it looks like JSON-encoded messages"
                if isinstance(messages, str) and messages.lstrip().startswith("[")
                else "store the messages as a list of objects"
            )
            found.append(
                self.finding(
                    example,
                    f"messages is {kind(messages)}, not a list",
                    pointer="/messages",
                    hint=hint,
                )
            )
        return found


class MessageNotAnObject(RecordRule):
    """An entry of ``messages`` (or of ``chosen`` / ``rejected``) is not a JSON object.

    Each message must be an object with a role and content. A bare string in the list is
    usually a turn whose role was lost in conversion; it cannot be attributed to the user or
    the assistant, so it cannot be trained on correctly.

    Fix: turn the entry into ``{"role": ..., "content": ...}`` or remove it.
    """

    code = "S003"
    name = "message-not-an-object"
    severity = Severity.ERROR
    summary = "A message is not a JSON object"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with an entry that is not a message."""
        return traits.odd_entries

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report list entries that are neither messages nor objects."""
        found: list[Finding] = []
        if not ctx.view_of(example).odd_entries:
            return found
        for field in ("messages", *PAIR_FIELDS):
            value = getattr(example, field)
            if not isinstance(value, list):
                continue
            for index, entry in enumerate(value):
                if not isinstance(entry, Message | dict):
                    found.append(
                        self.finding(
                            example,
                            f"{field}[{index}] is {kind(entry)}, not a message object",
                            message_index=index if field == "messages" else None,
                            pointer=message_pointer(field, index),
                            hint='write it as {"role": ..., "content": ...}',
                        )
                    )
        return found


class MissingRole(MessageRule):
    """A message has no ``role`` (or ``role`` is null).

    Without a role the provider cannot tell a prompt from an answer; the file is rejected.
    Converters that map speaker names (``from: human``) miss turns whose speaker is spelled
    differently.

    Fix: set the role (``system``, ``user``, ``assistant`` or ``tool``).
    """

    code = "S004"
    name = "missing-role"
    severity = Severity.ERROR
    summary = "Message has no role"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with a message whose role is not a string."""
        return traits.odd_roles

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report a message without a role."""
        if message.role is not None:
            return ()
        return [
            self.at(
                example,
                field,
                index,
                f"{field}[{index}] has no role",
                hint="set role to user, assistant, system or tool",
            )
        ]


class UnknownRole(MessageRule):
    """A message's role is not one the target accepts.

    Each provider accepts a fixed set of roles (Bedrock: user and assistant, plus a separate
    system prompt; Mistral: no ``developer``; OpenAI: ``system``, ``developer``, ``user``,
    ``assistant``, ``tool``, ``function``). Roles from other formats (``human``, ``gpt``,
    ``bot``, ``model``) or a misspelling (``Assistant``) make the upload fail.

    Fix: map the role to one the target accepts (``human`` to ``user``, ``gpt`` or ``model``
    to ``assistant``) or choose a target that accepts it.
    """

    code = "S005"
    name = "unknown-role"
    severity = Severity.ERROR
    summary = "Message role is not one the target accepts"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with a role the target does not accept."""
        return traits.odd_roles or not traits.roles <= ctx.target.allowed_roles

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report a role outside the target's roles."""
        role = message.role
        target = ctx.target
        if role is None or (isinstance(role, str) and role in target.allowed_roles):
            return ()
        allowed = ", ".join(sorted(target.allowed_roles))
        what = show(role) if isinstance(role, str) else kind(role)
        return [
            self.at(
                example,
                field,
                index,
                f"role {what} is not accepted by {target.name} (accepted: {allowed})",
                key="role",
                hint="map it to one of the accepted roles",
            )
        ]


class MissingContent(MessageRule):
    """A message has no ``content`` key.

    Every message needs content, except an assistant turn that only calls tools (it carries
    ``tool_calls`` or ``function_call`` instead). A missing key usually means the text sits
    under another name (``text``, ``value``) or was dropped in conversion; providers reject the
    message.

    Fix: put the message's text under ``content``.
    """

    code = "S006"
    name = "missing-content"
    severity = Severity.ERROR
    summary = "Message has no content"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with a message whose content is not a string."""
        return traits.odd_content

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report a message without a content key that does not call tools."""
        if "content" in message.model_fields_set or calls_tools(message) or message.refusal:
            return ()
        hint = "put the text under 'content'"
        extras = message.model_extra or {}
        for alias in ("text", "value", "message"):
            if alias in extras:
                hint = f"rename '{alias}' to 'content'"
                break
        return [self.at(example, field, index, f"{field}[{index}] has no content", hint=hint)]


class InvalidContentType(MessageRule):
    """A message's content is neither a string, a list of content parts nor null.

    Providers accept text, or a list of parts such as ``{"type": "text", "text": ...}`` and
    ``{"type": "image_url", ...}``. A number, an object, or a list of bare strings is a
    conversion bug; depending on the trainer it is rejected or rendered as ``"42"`` or
    ``"{'text': ...}"``.

    Fix: store text as a string; wrap parts as objects with a ``type``.
    """

    code = "S007"
    name = "invalid-content-type"
    severity = Severity.ERROR
    summary = "Message content is not text, a list of parts or null"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with a message whose content is not a string."""
        return traits.odd_content

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report content of the wrong type, or parts that are not typed objects."""
        content = message.content
        if content is None or isinstance(content, str):
            return ()
        if not isinstance(content, list):
            return [
                self.at(
                    example,
                    field,
                    index,
                    f"content is {kind(content)}, not a string or a list of parts",
                    key="content",
                    hint="store the text as a string",
                )
            ]
        return list(self._bad_parts(example, field, index, content))

    def _bad_parts(
        self, example: Example, field: str, index: int, content: list[Any]
    ) -> Iterator[Finding]:
        for position, part in enumerate(content):
            part_type = part.type if isinstance(part, ContentPart) else None
            if isinstance(part, dict):
                part_type = part.get("type")
            if not isinstance(part, ContentPart | dict):
                problem = f"is {kind(part)}, not a content part object"
            elif not isinstance(part_type, str):
                problem = "has no string 'type'"
            else:
                continue
            yield self.at(
                example,
                field,
                index,
                f"content part {position} {problem}",
                key=f"content/{position}",
                hint='write text parts as {"type": "text", "text": ...}',
            )


class NullContent(MessageRule):
    """A message's content is null but it calls no tools.

    Null content is how an assistant turn that only calls tools is written; on any other
    message (a user turn, a plain answer, a tool result) it is an empty turn that providers
    reject, often left by a failed generation or an export of a deleted message.

    Fix: fill in the text, give the assistant turn its tool calls, or drop the message.
    """

    code = "S008"
    name = "null-content"
    severity = Severity.ERROR
    summary = "Message content is null without a tool call"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with a message whose content is not a string."""
        return traits.odd_content

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report explicit null content on a message that does not call tools."""
        if message.content is not None or "content" not in message.model_fields_set:
            return ()
        if message.role == "assistant" and (calls_tools(message) or message.refusal is not None):
            return ()
        role = message.role if isinstance(message.role, str) else "message"
        return [
            self.at(
                example,
                field,
                index,
                f"content is null on a {role} message that calls no tools",
                key="content",
                hint="fill in the text or drop the message",
            )
        ]


def _untrained(weight: Any) -> bool:
    """Whether a weight switches training off (``0``; ``false`` is S012's problem)."""
    return not isinstance(weight, bool) and isinstance(weight, int | float) and weight == 0


class NoAssistantMessage(RecordRule):
    """The example has no assistant message to train on (or every one has ``weight: 0``).

    Fine-tuning learns from assistant turns only; an example without one costs tokens and
    teaches nothing, and some providers reject it. It is typical of prompts exported without
    their answers, or of conversations cut before the reply.

    Fix: add the assistant's answer, or drop the example.
    """

    code = "S009"
    name = "no-assistant-message"
    severity = Severity.ERROR
    summary = "Example has no assistant message to train on"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Not for examples with an assistant message and no weights."""
        return traits.preference or "assistant" not in traits.roles or traits.weights

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report a non-empty example without a trained assistant message."""
        found: list[Finding] = []
        shape = ctx.view_of(example)
        if not shape.conversation and not example.is_preference:
            return found
        if "assistant" in shape.roles and not shape.weights and not example.is_preference:
            return found
        assistants = [
            m for field, _index, m in shape.entries if m.role == "assistant" and field != "rejected"
        ]
        if not assistants:
            found.append(
                self.finding(
                    example,
                    "example has no assistant message",
                    pointer="/messages",
                    hint="add the assistant's answer or drop the example",
                )
            )
        elif all(_untrained(m.weight) for m in assistants):
            found.append(
                self.finding(
                    example,
                    "every assistant message has weight 0: nothing is trained",
                    pointer="/messages",
                    hint="set weight 1 on the answer to learn, or drop the example",
                )
            )
        return found


class UnknownMessageKey(MessageRule):
    """A message has a key the target does not accept.

    OpenAI, Together, Fireworks and Mistral check message keys strictly, and one unknown key
    (``timestamp``, ``id``, ``tokens``, ``metadata``) fails the upload. Keys the target knows
    but another target does not (``refusal``, ``function_call``, ``name`` on Together) are
    reported too.

    Fix: remove the key, or move the information into the example's metadata outside the
    training file.
    """

    code = "S010"
    name = "unknown-message-key"
    severity = Severity.ERROR
    summary = "Message has a key the target does not accept"
    per_file_summary = True

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with a message key the target does not accept."""
        accepted = ctx.target.message_keys
        return any(k not in accepted and k != "weight" for k in traits.keys)

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report keys outside the target's message keys (``weight`` is S012/S013's)."""
        accepted = ctx.target.message_keys
        unknown = [k for k in message.model_fields_set if k not in accepted and k != "weight"]
        if not unknown:
            return ()
        return [
            self.at(
                example,
                field,
                index,
                f"key {key!r} is not accepted by {ctx.target.name} in a message",
                key=key,
                hint=f"remove {key!r} from the message",
            )
            for key in sorted(unknown)
        ]


class UnknownExampleKey(RecordRule):
    """The record has a top-level key the target does not accept.

    Extra keys (``id``, ``source``, ``split``) ride along in many exports. Providers either
    reject them or ignore them, and ftprep's writers drop them, so the information is lost from
    the training file either way. Tool keys (``tools``, ``functions``) are reported on targets
    that do not take tools.

    Information only: the keys are nearly always bookkeeping columns (``id``, ``source``,
    a copy of an answer) that ``prepare`` drops when it writes the target's format, so on
    the precision benchmark (docs/precision.md) most findings were debatable, below the
    0.80 a warning must reach. Upload a file unprepared and the provider's check fails on
    them; a KTO-looking ``label`` that is not a boolean is still named in the message.

    Fix: remove the key, or keep it in a side file keyed by the example's fingerprint.
    """

    code = "S011"
    name = "unknown-example-key"
    severity = Severity.INFO
    summary = "Record has a top-level key the target does not accept"
    per_file_summary = True

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only records with tool keys or undeclared keys."""
        return traits.tool_keys or traits.extras

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report extra keys and unsupported tool keys."""
        found: list[Finding] = []
        target = ctx.target
        set_keys = example.model_fields_set
        keys = [k for k in TOOL_KEYS if k in set_keys]
        keys.extend(example.model_extra or ())
        if stray_label(example):
            found.append(
                self.finding(
                    example,
                    f"key 'label' holds {kind(example.label)}, not a boolean, so it is not a "
                    f"KTO label; it is not accepted by {target.name}",
                    pointer="/label",
                    hint="remove 'label' or rename it; a KTO label is true or false",
                )
            )
        for key in sorted(k for k in keys if k not in target.example_keys):
            found.append(
                self.finding(
                    example,
                    f"key {key!r} is not accepted by {target.name}",
                    pointer=f"/{key}",
                    hint=f"remove {key!r}; it is not written to the {target.name} file",
                )
            )
        return found


class InvalidWeight(MessageRule):
    """A message's ``weight`` is not 0 or 1.

    ``weight`` switches training on a turn off (0) or on (1); providers accept nothing else,
    and a fractional weight does not scale the loss as one might hope. ``true``/``false`` and
    ``null`` are rejected as well.

    Fix: use 0 (do not train on this turn) or 1 (train on it), or drop the key.
    """

    code = "S012"
    name = "invalid-weight"
    severity = Severity.ERROR
    summary = "Message weight is not 0 or 1"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples where some message sets a weight."""
        return traits.weights

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report a weight that is not the number 0 or 1."""
        if "weight" not in message.model_fields_set:
            return ()
        weight = message.weight
        if not isinstance(weight, bool) and isinstance(weight, int | float) and weight in (0, 1):
            return ()
        return [
            self.at(
                example,
                field,
                index,
                f"weight is {show(weight)}, not 0 or 1",
                key="weight",
                hint="use 0 to skip training on the turn, 1 to train on it",
            )
        ]


class MisplacedWeight(MessageRule):
    """A message has ``weight`` where the target does not accept it: on a role other than the
    assistant (OpenAI, Mistral) or on a target that has no per-message weights at all
    (Vertex Gemini, Bedrock).

    The provider rejects the file, or (self-hosted) the key is silently ignored and every
    assistant turn is trained on, including the ones the weight was meant to exclude.

    Fix: keep ``weight`` on assistant messages only; for targets without weights, drop the
    turns you do not want trained on, or split the conversation.
    """

    code = "S013"
    name = "misplaced-weight"
    severity = Severity.ERROR
    summary = "Message weight where the target does not accept one"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples where some message sets a weight."""
        return traits.weights

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report a weight on a target or role that does not take one."""
        if "weight" not in message.model_fields_set:
            return ()
        target = ctx.target
        if not target.weight_allowed:
            text = f"{target.name} does not accept per-message weights"
        elif not isinstance(message.role, str) or message.role not in target.weight_roles:
            text = f"{target.name} accepts weight only on {', '.join(sorted(target.weight_roles))}"
            text += f" messages, not on {show(message.role)}"
        else:
            return ()
        return [self.at(example, field, index, text, key="weight", hint="remove the weight")]


def _tool_definition_problem(tool: Any) -> tuple[str, str] | None:
    """``(relative pointer, problem)`` of a malformed ``tools`` entry, or ``None``."""
    if not isinstance(tool, dict):
        return "", f"is {kind(tool)}, not a tool definition object"
    if tool.get("type") != "function":
        return "type", f"has type {show(tool.get('type'))}, not 'function'"
    function = tool.get("function")
    if not isinstance(function, dict):
        return "function", f"has 'function' {kind(function)}, not an object"
    problem = _function_definition_problem(function)
    if problem is not None:
        return f"function/{problem[0]}", problem[1]
    return None


def _function_definition_problem(function: dict[str, Any]) -> tuple[str, str] | None:
    name = function.get("name")
    if not isinstance(name, str) or not name:
        return "name", f"has name {show(name)}, not a non-empty string"
    if "parameters" in function and not isinstance(function["parameters"], dict):
        return "parameters", f"has parameters {kind(function['parameters'])}, not a JSON schema"
    return None


class InvalidToolDefinitions(RecordRule):
    """``tools`` (or legacy ``functions``) is not a list of function definitions.

    Each tool must be ``{"type": "function", "function": {"name": ..., "parameters": {...}}}``
    with a string name and, when given, a JSON-schema object as parameters (legacy
    ``functions`` entries are the inner ``{"name": ..., "parameters": ...}``). A tools list
    stored as a JSON string, or definitions missing their name, fail the upload; a model
    trained on them never sees the schema it is supposed to call.

    Fix: store the tools as a list of objects in this shape; decode a JSON-string tools field.
    """

    code = "S014"
    name = "invalid-tool-definitions"
    severity = Severity.ERROR
    summary = "tools or functions is not a list of function definitions"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only records that set tool keys."""
        return traits.tool_keys

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report a tools or functions value of the wrong shape, entry by entry."""
        found: list[Finding] = []
        for key in ("tools", "functions"):
            value = getattr(example, key)
            if value is None:
                continue
            if not isinstance(value, list):
                found.append(
                    self.finding(
                        example,
                        f"{key} is {kind(value)}, not a list of definitions",
                        pointer=f"/{key}",
                        hint="decode the string into a list"
                        if isinstance(value, str)
                        else "store the definitions as a list",
                    )
                )
                continue
            for position, entry in enumerate(value):
                if key == "tools":
                    problem = _tool_definition_problem(entry)
                elif isinstance(entry, dict):
                    problem = _function_definition_problem(entry)
                else:
                    problem = ("", f"is {kind(entry)}, not a function definition object")
                if problem is not None:
                    where, text = problem
                    pointer = f"/{key}/{position}" + (f"/{where}" if where else "")
                    found.append(
                        self.finding(
                            example,
                            f"{key}[{position}] {text}",
                            pointer=pointer,
                            hint='write {"type": "function", "function": {"name": ..., '
                            '"parameters": {...}}}',
                        )
                    )
        return found


class InvalidToolCalls(MessageRule):
    """A message's ``tool_calls`` (or legacy ``function_call``) is malformed: not a list, on a
    message that is not the assistant's, or a call without ``type: "function"`` and a
    function with a string name.

    The provider rejects the file, or the trainer renders a call the model can never make.
    Tool calls converted from other formats often lose their ``function`` wrapper
    (``{"name": ..., "arguments": ...}`` directly in the list).

    Fix: write each call as ``{"id": ..., "type": "function", "function": {"name": ...,
    "arguments": "{...}"}}`` on an assistant message.
    """

    code = "S015"
    name = "invalid-tool-calls"
    severity = Severity.ERROR
    summary = "tool_calls is not a list of well-formed function calls"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples where some message calls tools."""
        return traits.tool_calls

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report malformed tool calls, call by call."""
        calls = message.tool_calls
        legacy = message.function_call
        if calls is None and legacy is None:
            return
        if message.role != "assistant":
            key = "tool_calls" if calls is not None else "function_call"
            yield self.at(
                example,
                field,
                index,
                f"{key} on a {show(message.role)} message; only assistant messages call tools",
                key=key,
                hint="move the call to an assistant message",
            )
            return
        if legacy is not None:
            name = legacy.get("name") if isinstance(legacy, dict) else None
            if not isinstance(name, str) or not name:
                yield self.at(
                    example,
                    field,
                    index,
                    "function_call has no function name",
                    key="function_call",
                    hint='write {"name": ..., "arguments": "{...}"}',
                )
        if calls is None:
            return
        if not isinstance(calls, list):
            yield self.at(
                example,
                field,
                index,
                f"tool_calls is {kind(calls)}, not a list",
                key="tool_calls",
                hint="store the calls as a list",
            )
            return
        for position, call in tool_calls_of(message):
            problem = self._call_problem(call)
            if problem is not None:
                where, text = problem
                yield self.at(
                    example,
                    field,
                    index,
                    f"tool call {position} {text}",
                    key=f"tool_calls/{position}" + (f"/{where}" if where else ""),
                    hint='write {"id": ..., "type": "function", "function": {"name": ..., '
                    '"arguments": "{...}"}}',
                )

    @staticmethod
    def _call_problem(call: Any) -> tuple[str, str] | None:
        if not isinstance(call, ToolCall | dict):
            return "", f"is {kind(call)}, not a call object"
        call_type = call.type if isinstance(call, ToolCall) else call.get("type", "function")
        if call_type != "function":
            return "type", f"has type {show(call_type)}, not 'function'"
        name, _arguments = function_of(call)
        if not isinstance(name, str) or not name:
            return "function", "has no function name"
        return None


class InvalidPreferencePair(RecordRule):
    """A preference example's ``chosen`` or ``rejected`` is missing, empty, or holds turns that
    are not the assistant's.

    Preference training (DPO) compares a chosen and a rejected assistant continuation of the
    same prompt. With one side missing or empty there is nothing to compare; a user turn inside
    a continuation means the prompt was not split off correctly, and the model is pushed
    towards or away from the user's words.

    Fix: give both sides as non-empty lists of assistant messages and keep the shared prompt in
    ``messages``.
    """

    code = "S016"
    name = "invalid-preference-pair"
    severity = Severity.ERROR
    summary = "chosen or rejected is not a non-empty list of assistant turns"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only preference examples."""
        return traits.preference

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report a missing or empty side, and non-assistant turns in either side."""
        found: list[Finding] = []
        if not example.is_preference:
            return found
        for field in PAIR_FIELDS:
            value = getattr(example, field)
            if value is None or (isinstance(value, list) and not value):
                state = "missing" if value is None else "empty"
                found.append(
                    self.finding(
                        example,
                        f"{field} is {state}",
                        pointer=f"/{field}",
                        hint="give both chosen and rejected continuations",
                    )
                )
            elif not isinstance(value, list):
                found.append(
                    self.finding(
                        example,
                        f"{field} is {kind(value)}, not a list of messages",
                        pointer=f"/{field}",
                    )
                )
            else:
                for index, message in enumerate(value):
                    if isinstance(message, Message) and message.role != "assistant":
                        found.append(
                            self.finding(
                                example,
                                f"{field}[{index}] has role {show(message.role)}, not 'assistant'",
                                pointer=message_pointer(field, index, "role"),
                                hint="keep the prompt turns in messages",
                            )
                        )
        return found


class InvalidMessageName(MessageRule):
    """A message's ``name`` is not a non-empty string.

    ``name`` tells participants of the same role apart (or names the function a ``function``
    message answers). Providers accept only a string there: a number or an object fails the
    upload, and a trainer that renders it prints ``42`` where a name should be. ``null`` is
    taken as no name, as tables exported with missing cells write it.

    Fix: write the participant's name as a string, or drop the key.
    """

    code = "S017"
    name = "invalid-message-name"
    severity = Severity.ERROR
    summary = "Message name is not a non-empty string"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples where some message sets ``name``."""
        return "name" in traits.keys

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report a name that is not a non-empty string (the value is shown only when it is
        not text, so a name never prints a secret)."""
        name = message.name
        if name is None or (isinstance(name, str) and name):
            return ()
        return [
            self.at(
                example,
                field,
                index,
                f"name is {show(name) if isinstance(name, str) else kind(name)}, not a "
                "non-empty string",
                key="name",
                hint="write the name as a string, or drop the key",
            )
        ]


RULES: tuple[type[Rule], ...] = (
    MissingMessages,
    MessagesNotAList,
    MessageNotAnObject,
    MissingRole,
    UnknownRole,
    MissingContent,
    InvalidContentType,
    NullContent,
    NoAssistantMessage,
    UnknownMessageKey,
    UnknownExampleKey,
    InvalidWeight,
    MisplacedWeight,
    InvalidToolDefinitions,
    InvalidToolCalls,
    InvalidPreferencePair,
    InvalidMessageName,
)

__all__ = [
    "PAIR_FIELDS",
    "RULES",
    "SYSTEM_ROLES",
    "TOOL_RESULT_ROLES",
    "MessageRule",
    "Traits",
    "call_id",
    "calls_tools",
    "function_of",
    "kind",
    "message_pointer",
    "show",
    "tool_calls_of",
]
