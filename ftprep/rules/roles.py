"""R: Role order and tool calls: turn order, alternation, tool-call consistency.

Turn-order rules read the conversation (``messages``); tool-call rules read every message,
including both sides of a preference pair. Values of the wrong type are S rules' business:
these rules skip what they cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import orjson

from ftprep.findings import Finding, Severity
from ftprep.model import Example, Message
from ftprep.rules.base import RecordRule, Rule, RuleOptions
from ftprep.rules.context import RecordContext
from ftprep.rules.structure import (
    SYSTEM_ROLES,
    MessageRule,
    call_id,
    function_of,
    kind,
    message_pointer,
    show,
    tool_calls_of,
)
from ftprep.view import Traits, alternation_breaks


def _turn_finding(rule: Rule, example: Example, index: int, text: str, hint: str) -> Finding:
    return rule.finding(
        example, text, message_index=index, pointer=message_pointer("messages", index), hint=hint
    )


class SystemNotFirst(RecordRule):
    """A system (or developer) message appears after the first message.

    The target reads the system prompt from the first message only (Fireworks, for one, allows
    a system message in first position and nowhere else); a later one is rejected, or rendered
    as a stray turn the model then learns to expect mid-conversation. It usually comes from
    concatenating two conversations or appending a default system prompt at the wrong end.

    Fix: merge the instructions into one system message at the start, or drop the later one.
    """

    code = "R001"
    name = "system-not-first"
    severity = Severity.ERROR
    summary = "System message is not the first message"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only conversations with a system message after the first position."""
        return traits.late_system

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report system and developer messages after position 0."""
        found: list[Finding] = []
        if not ctx.target.system_first_only:
            return found
        for index, message in ctx.view_of(example).conversation:
            if index > 0 and isinstance(message.role, str) and message.role in SYSTEM_ROLES:
                found.append(
                    _turn_finding(
                        self,
                        example,
                        index,
                        f"{message.role} message at position {index}; {ctx.target.name} accepts "
                        "one only as the first message",
                        "merge it into the first message or drop it",
                    )
                )
        return found


class AlternationViolated(RecordRule):
    """The conversation breaks the strict user/assistant alternation the target demands.

    Together, Vertex Gemini and Bedrock expect the first turn after the system prompt to be the
    user's and user and assistant turns to alternate from there (tool results sit between an
    assistant's call and its next turn). Two user turns in a row, two answers in a row or a
    conversation that opens with the assistant are rejected.

    Fix: merge consecutive turns of the same role, or start the conversation with the user's
    turn.
    """

    code = "R002"
    name = "alternation-violated"
    severity = Severity.ERROR
    summary = "User and assistant turns do not alternate as the target requires"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only conversations whose turns do not alternate."""
        return traits.breaks_alternation

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report each break of strict alternation, on targets that demand it."""
        found: list[Finding] = []
        target = ctx.target
        if not target.strict_alternation:
            return found
        turns = ctx.view_of(example).conversation
        roles = dict(turns)
        for index, problem in alternation_breaks(turns):
            if problem == "first":
                text = f"conversation opens with an assistant turn; {target.name} needs the user's"
                hint = "start with the user's turn (after an optional system message)"
            else:
                text = f"second {roles[index].role} turn in a row; {target.name} needs user and "
                text += "assistant turns to alternate"
                hint = "merge the consecutive turns into one"
            found.append(_turn_finding(self, example, index, text, hint))
        return found


class ConsecutiveSameRole(RecordRule):
    """Two user turns or two assistant turns follow each other (targets that accept it).

    The target trains on it, but it is usually a conversion artefact: a turn whose role was
    mapped wrongly, a message split in two, or a reply lost between two questions. Two
    assistant turns in a row teach the model to answer itself.

    Fix: merge the turns or restore the missing one. On targets that require strict
    alternation this is reported as R002 instead.
    """

    code = "R003"
    name = "consecutive-same-role"
    severity = Severity.WARNING
    summary = "Two consecutive turns have the same role"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only conversations whose turns do not alternate."""
        return traits.breaks_alternation

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report repeated user or assistant turns, on targets without strict alternation."""
        found: list[Finding] = []
        if ctx.target.strict_alternation:
            return found
        turns = ctx.view_of(example).conversation
        roles = dict(turns)
        for index, problem in alternation_breaks(turns):
            if problem == "repeat":
                found.append(
                    _turn_finding(
                        self,
                        example,
                        index,
                        f"second {roles[index].role} turn in a row",
                        "merge the turns, or restore the turn that is missing between them",
                    )
                )
        return found


class LastTurnNotAssistant(RecordRule):
    """The conversation ends with a turn that is not the assistant's (usually the user's).

    Only assistant turns are trained on, so whatever follows the last answer costs tokens and
    teaches nothing; a conversation that ends on a question often lost its final answer in
    export. Mistral and Bedrock reject such examples, so there it is an error; elsewhere a
    warning.

    Fix: add the missing final answer, or cut the conversation after the last assistant turn.
    """

    code = "R004"
    name = "last-turn-not-assistant"
    severity = Severity.WARNING
    summary = "Conversation does not end with an assistant turn"

    def __init__(self, options: RuleOptions | None = None, severity: Severity | None = None):
        super().__init__(options, severity)
        self._configured = severity is not None

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only conversations that end after their last assistant turn."""
        return traits.ends_without_answer

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report a trailing non-assistant turn after at least one assistant turn."""
        found: list[Finding] = []
        if example.is_preference:
            return found
        turns = ctx.view_of(example).conversation
        if not turns or not any(m.role == "assistant" for _i, m in turns):
            return found
        index, last = turns[-1]
        if last.role == "assistant" or not isinstance(last.role, str):
            return found
        finding = _turn_finding(
            self,
            example,
            index,
            f"conversation ends with a {last.role} turn; nothing after the last assistant turn "
            "is trained on",
            "add the final answer, or cut the conversation after the last assistant turn",
        )
        if ctx.target.must_end_with_assistant and not self._configured:
            finding = replace(finding, severity=Severity.ERROR)
        found.append(finding)
        return found


class OrphanToolMessage(RecordRule):
    """A tool message answers no tool call: no earlier assistant message makes a call at all
    (the call may be written out in the text, which is not a call), the message has no
    ``tool_call_id``, or its id matches no call made by an earlier assistant message.

    Providers pair each tool result with the call it answers and reject results they cannot
    pair; a trainer would show the model a result out of nowhere. Typical causes are ids
    regenerated on one side only during conversion, or a call dropped while the result was
    kept.

    Fix: give the tool message the ``id`` of the call it answers, or drop it with its call.
    """

    code = "R005"
    name = "orphan-tool-message"
    severity = Severity.ERROR
    summary = "Tool message does not answer an earlier tool call"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with tool results."""
        return traits.tool_results

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report tool messages whose id no earlier call carries."""
        view = ctx.view_of(example)
        found: list[Finding] = []
        if not view.tool_results:
            return found
        called: set[Any] = set()
        calls_before = False  # whether the last assistant turn made a structured call
        for index, message in view.conversation:
            if message.role == "assistant":
                calls = tool_calls_of(message)
                calls_before = bool(calls) or isinstance(message.function_call, dict)
                called.update(i for _p, call in calls if isinstance(i := call_id(call), str))
            elif message.role == "tool":
                answered = message.tool_call_id
                hint = "set tool_call_id to the id of the call it answers"
                key = "tool_call_id"
                if answered is None and not calls_before:
                    # The id is not what is missing: the turn before made no call to answer.
                    key = ""
                    before = (
                        "the assistant turn before it makes no tool call"
                        if called
                        else "no earlier assistant turn makes a tool call"
                    )
                    text = (
                        f"tool message answers no call: {before} "
                        "(a call written out in the text is not one)"
                    )
                    hint = (
                        "make the call a structured tool call of the assistant turn before it, "
                        "or drop the tool message"
                    )
                elif answered is None:
                    text = "tool message has no tool_call_id"
                elif not isinstance(answered, str) or answered not in called:
                    text = f"tool message answers {show(answered)}, which no earlier call has"
                else:
                    continue
                found.append(
                    self.finding(
                        example,
                        text,
                        message_index=index,
                        pointer=message_pointer("messages", index, key),
                        hint=hint,
                    )
                )
        return found


class UnansweredToolCall(RecordRule):
    """An assistant calls a tool and the conversation goes on without the tool's answer.

    A call that is the last turn is fine (the example teaches when to call). But when more
    turns follow, each call needs a tool message with its id before the conversation
    continues; providers reject the example otherwise, and the model would learn to carry on
    without ever seeing results.

    Fix: add the tool message answering the call (``tool_call_id`` = the call's ``id``), or end
    the example at the call.
    """

    code = "R006"
    name = "unanswered-tool-call"
    severity = Severity.ERROR
    summary = "Tool call is never answered by a tool message"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with tool calls."""
        return traits.tool_calls

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report calls, except in the last turn, that no later tool message answers."""
        found: list[Finding] = []
        shape = ctx.view_of(example)
        if not shape.tool_calls:
            return found
        turns = shape.conversation
        results = [(i, m.tool_call_id) for i, m in turns if m.role == "tool"]
        last = turns[-1][0] if turns else -1
        for index, message in turns:
            if message.role != "assistant" or index == last:
                continue
            calls = tool_calls_of(message)
            if not calls:
                continue
            answered = {a for position, a in results if position > index and isinstance(a, str)}
            for position, call in calls:
                identifier = call_id(call)
                if not isinstance(identifier, str):
                    text = f"tool call {position} has no id, so no tool message can answer it"
                elif identifier not in answered:
                    text = f"tool call {identifier!r} is never answered by a tool message"
                else:
                    continue
                found.append(
                    self.finding(
                        example,
                        text,
                        message_index=index,
                        pointer=message_pointer("messages", index, f"tool_calls/{position}"),
                        hint="add the tool message answering it, or end the example at the call",
                    )
                )
        return found


def _arguments_problem(arguments: Any, objects_ok: bool) -> tuple[str, str] | None:
    """``(problem, hint)`` when tool-call arguments are not a JSON object string."""
    if isinstance(arguments, str):
        try:
            value = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return "arguments are not valid JSON", "write the arguments with json.dumps"
        if isinstance(value, dict):
            return None
        if isinstance(value, str):
            return (
                "arguments are JSON-encoded twice: they decode to a string, not an object",
                "decode them once (json.loads) and store the result",
            )
        return f"arguments decode to {kind(value)}, not an object", "wrap them in an object"
    if isinstance(arguments, dict):
        if objects_ok:
            return None
        return (
            "arguments are an object, not a JSON-encoded string",
            "encode them as a string (json.dumps)",
        )
    return f"arguments are {kind(arguments)}, not a JSON object string", "write them as '{...}'"


class InvalidToolArguments(MessageRule):
    """A tool call's ``arguments`` are not a JSON object encoded as a string.

    Providers expect a string holding a JSON object (``json.dumps({"city": "Paris"})``).
    Arguments that are not valid JSON, that decode to a list or a number, or that were
    JSON-encoded twice (a string that decodes to another string: a real defect in a published
    version of the OpenAI cookbook's drone data) teach the model to emit arguments no tool can
    parse. An object where a string is expected is rejected by OpenAI-compatible providers
    (self-hosted chat templates accept both).

    Fix: build the arguments as a dict and encode them once with ``json.dumps``.
    """

    code = "R007"
    name = "invalid-tool-arguments"
    severity = Severity.ERROR
    summary = "Tool-call arguments are not a JSON object string"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples where some message calls tools."""
        return traits.tool_calls

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Parse each call's arguments once and report what they are instead."""
        objects_ok = ctx.target.tool_arguments_as_objects
        located: list[tuple[str, Any]] = []
        for position, call in tool_calls_of(message):
            name, arguments = function_of(call)
            if name is not None or arguments is not None:
                located.append((f"tool_calls/{position}/function/arguments", arguments))
        legacy = message.function_call
        if isinstance(legacy, dict):
            located.append(("function_call/arguments", legacy.get("arguments")))
        for key, arguments in located:
            problem = _arguments_problem(arguments, objects_ok)
            if problem is not None:
                yield self.at(example, field, index, problem[0], key=key, hint=problem[1])


def _declared_functions(example: Example) -> set[str]:
    """Names of the functions an example declares in ``tools`` and ``functions``."""
    names: set[str] = set()
    tools = example.tools
    if isinstance(tools, list):
        for tool in tools:
            function = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                names.add(function["name"])
    functions = example.functions
    if isinstance(functions, list):
        names.update(
            f["name"] for f in functions if isinstance(f, dict) and isinstance(f.get("name"), str)
        )
    return names


class UndeclaredFunction(RecordRule):
    """A tool call names a function the example does not declare in ``tools`` (or
    ``functions``).

    The model is trained to call a function it was never shown a schema for: at inference it
    will call it whether or not your application offers it. It often means the tools list was
    trimmed, or a function was renamed on one side only.

    Fix: declare the function in the example's ``tools``, or correct the call's name.
    """

    code = "R008"
    name = "undeclared-function"
    severity = Severity.WARNING
    summary = "Tool call names a function that is not declared"
    per_file_summary = True

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with tool calls."""
        return traits.tool_calls

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report calls to names outside the declared tools."""
        found: list[Finding] = []
        shape = ctx.view_of(example)
        if not ctx.target.supports_tools or not shape.tool_calls:
            return found
        declared: set[str] | None = None
        for field, index, message in shape.entries:
            calls: list[tuple[str, Any]] = [
                (f"tool_calls/{p}/function/name", function_of(call)[0])
                for p, call in tool_calls_of(message)
            ]
            if isinstance(message.function_call, dict):
                calls.append(("function_call/name", message.function_call.get("name")))
            for key, name in calls:
                if not isinstance(name, str):
                    continue
                if declared is None:
                    declared = _declared_functions(example)
                if name in declared:
                    continue
                text = (
                    f"calls {name!r}, which the example's tools do not declare"
                    if declared
                    else f"calls {name!r}, but the example declares no tools"
                )
                found.append(
                    self.finding(
                        example,
                        text,
                        message_index=index if field == "messages" else None,
                        pointer=message_pointer(field, index, key),
                        hint=f"declare {name!r} in tools, or correct the call",
                    )
                )
        return found


class DuplicateToolCallId(MessageRule):
    """Two tool calls in one assistant message share an ``id``.

    Each tool result is matched to its call by id; with duplicates the provider cannot tell
    which result answers which call, and rejects the example. Converters that number calls
    per conversation rather than per call, or reuse a constant id, produce it.

    Fix: give each call in a message its own id.
    """

    code = "R009"
    name = "duplicate-tool-call-id"
    severity = Severity.ERROR
    summary = "Two tool calls in one message share an id"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples where some message calls tools."""
        return traits.tool_calls

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report the second and later uses of an id within a message."""
        seen: set[str] = set()
        for position, call in tool_calls_of(message):
            identifier = call_id(call)
            if not isinstance(identifier, str):
                continue
            if identifier in seen:
                yield self.at(
                    example,
                    field,
                    index,
                    f"tool call {position} reuses id {identifier!r}",
                    key=f"tool_calls/{position}/id",
                    hint="give each call its own id",
                )
            seen.add(identifier)


class InvalidToolCallId(MessageRule):
    """A tool-call id does not have the form the target requires (Mistral: exactly 9 ASCII
    letters and digits, such as ``"D681PevKs"``), in a call or in the tool message answering
    it.

    Mistral's tokenizer encodes the id into the sequence and refuses any other form, so OpenAI
    ids (``call_abc123...``) fail the job. Only the last assistant message may leave a call's
    id unset (``null``), since nothing answers it.

    Fix: map every id to a 9-character alphanumeric id, the same on the call and its tool
    message.
    """

    code = "R010"
    name = "invalid-tool-call-id"
    severity = Severity.ERROR
    summary = "Tool-call id does not have the form the target requires"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only on targets with an id format, for examples with tool calls or results."""
        return ctx.target.tool_call_id_length is not None and (
            traits.tool_calls or traits.tool_results
        )

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report ids of the wrong length or alphabet, calls and tool results alike."""
        length = ctx.target.tool_call_id_length
        located: list[tuple[str, Any]] = []
        if message.role == "tool":
            located.append(("tool_call_id", message.tool_call_id))
        container = getattr(example, field)
        is_last = isinstance(container, list) and index == len(container) - 1
        for position, call in tool_calls_of(message):
            identifier = call_id(call)
            if is_last and identifier in (None, "null"):
                continue
            located.append((f"tool_calls/{position}/id", identifier))
        for key, identifier in located:
            if (
                isinstance(identifier, str)
                and len(identifier) == length
                and identifier.isascii()
                and identifier.isalnum()
            ):
                continue
            yield self.at(
                example,
                field,
                index,
                f"id {show(identifier)} is not {length} ASCII letters and digits, as "
                f"{ctx.target.name} requires",
                key=key,
                hint=f"map each id to {length} letters and digits, the same on call and result",
            )


RULES: tuple[type[Rule], ...] = (
    SystemNotFirst,
    AlternationViolated,
    ConsecutiveSameRole,
    LastTurnNotAssistant,
    OrphanToolMessage,
    UnansweredToolCall,
    InvalidToolArguments,
    UndeclaredFunction,
    DuplicateToolCallId,
    InvalidToolCallId,
)
