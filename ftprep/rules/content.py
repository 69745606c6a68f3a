"""C: Content: empty turns, length bounds, raw special tokens, images.

Every check starts with a cheap test (a type check, a length, a substring) and only then
does real work, so the common case (a plain text turn with nothing wrong) costs well under a
microsecond per rule and message. Images are checked from their URL alone: a ``data:`` URL's
media type, size and first bytes; nothing is downloaded or decoded in full.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import Field

from ftprep.findings import Finding, Severity
from ftprep.model import ContentPart, Example, Message
from ftprep.rules.base import RecordRule, Rule, RuleOptions, Triggers
from ftprep.rules.context import RecordContext
from ftprep.rules.structure import MessageRule, calls_tools
from ftprep.rules.texts import MARKUP
from ftprep.targets import Target
from ftprep.view import PAIR_FIELDS, SHORT_MARKUP, Traits

ALL_DIALECTS = "*"


def _content_pointer(field: str, index: int, part: int | None = None) -> str:
    base = f"/{field}/{index}/content"
    return base if part is None else f"{base}/{part}"


def _role(message: Message) -> str:
    return message.role if isinstance(message.role, str) else ""


class EmptyContentOptions(RuleOptions):
    """Options of C001."""

    roles: list[str] = Field(default_factory=lambda: ["system", "developer", "user", "assistant"])
    """Roles whose turns must have text (tool results may legitimately be empty)."""


class EmptyContent(MessageRule):
    """A turn's content is empty or only whitespace.

    An empty assistant answer teaches the model to answer with nothing; an empty user turn
    teaches it to answer a question nobody asked; an empty system prompt is a template that
    was never filled. Such records are almost always conversion or generation failures (the
    Alpaca data has empty outputs). A turn holding only chat-template tokens (a GPT-3 era
    completion that is only ``<|endoftext|>``) is empty too: the tokens are stripped or become
    control tokens, and nothing is left to learn. Empty answers on either side of a preference
    pair are reported, and the message names the side. An assistant turn that only calls
    tools, or only carries a refusal, is fine with no text; null content is the structure rule
    S008's business.

    Fix: fill in the text or drop the example. Tool results are not checked by default (a tool
    may return nothing); choose the roles with ``roles``.
    """

    code = "C001"
    name = "empty-content"
    severity = Severity.ERROR
    summary = "Turn content is empty or whitespace only"
    Options = EmptyContentOptions
    options: EmptyContentOptions

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with blank text or content that is not a string."""
        return traits.blank_content or traits.odd_content

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report turns whose string (or list of text parts) has no visible characters."""
        found: list[Finding] = []
        for field, index, message in example.iter_messages():
            content = message.content
            tokens: list[str] = []
            if type(content) is str:
                if content and not content.isspace():
                    tokens = _only_special_tokens(content)
                    if not tokens:
                        continue
            elif not isinstance(content, list) or not _blank_parts(content):
                continue
            role = _role(message)
            if role not in self.options.roles:
                continue
            if role == "assistant" and (calls_tools(message) or message.refusal is not None):
                continue
            if tokens:
                what = f"empty once the special tokens are removed ({', '.join(tokens)})"
            else:
                what = "empty" if not message.text() else "whitespace only"
            side = f"{field} " if field in PAIR_FIELDS else ""
            found.append(
                self.at(
                    example,
                    field,
                    index,
                    f"{side}{role} content is {what}",
                    key="content",
                    hint="fill in the text or drop the example",
                )
            )
        return found


def _only_special_tokens(text: str) -> list[str]:
    """The chat-template tokens ``text`` holds when it holds nothing else but whitespace (a
    completion that is only ``<|endoftext|>``), else ``[]``."""
    if len(text) > SHORT_MARKUP or ("<" not in text and "[" not in text):
        return []
    tokens = special_tokens_in(text)
    rest = text
    for token in tokens:
        rest = rest.replace(token, "")
    return tokens if tokens and (not rest or rest.isspace()) else []


def _blank_parts(parts: list[Any]) -> bool:
    """Whether a list of content parts holds only text parts without visible text."""
    for part in parts:
        if not isinstance(part, ContentPart) or part.type != "text":
            return False
        text = part.text
        if isinstance(text, str) and text and not text.isspace():
            return False
    return True


class LengthOptions(RuleOptions):
    """Options shared by C002 and C003."""

    dialects: list[str] = Field(default_factory=lambda: ["raw_pairs"])
    """Input dialects the bounds apply to (``"*"`` for all)."""


class ShortContentOptions(LengthOptions):
    """Options of C002."""

    min_chars: dict[str, int] = Field(default_factory=lambda: {"assistant": 10})
    """Fewest characters per role."""


class LongContentOptions(LengthOptions):
    """Options of C003."""

    max_chars: dict[str, int] = Field(default_factory=lambda: {"assistant": 2000})
    """Most characters per role."""


def _applies_to(options: LengthOptions, dialect: str) -> bool:
    dialects = options.dialects
    return ALL_DIALECTS in dialects or dialect in dialects


class _LengthRule(MessageRule):
    """A length bound that applies to examples of the configured dialects only."""

    options: LengthOptions

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples of the configured dialects."""
        return _applies_to(self.options, traits.dialect)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Check the turns of examples of the configured dialects."""
        found: list[Finding] = []
        if _applies_to(self.options, example.dialect):
            found.extend(super().check(example, ctx))
        return found


class ShortContent(_LengthRule):
    """A turn is shorter than the configured minimum (by default: an assistant answer under 10
    characters in raw prompt/answer pairs).

    Very short answers are often truncated generations or placeholders, but many are
    legitimate ("Positive", "1", "No"): in the Alpaca data 182 of 5,000 outputs are under 10
    characters and most are correct. That is why this is information only, and why by default
    it applies only to raw pairs, where answers are expected to be written out.

    Fix: check the listed answers; for classification-style data switch the rule off or lower
    ``min-chars``. ``dialects = ["*"]`` applies the bounds to every input shape.
    """

    code = "C002"
    rejects_in = ("raw_pairs",)
    name = "short-content"
    severity = Severity.INFO
    summary = "Turn is shorter than the configured minimum"
    Options = ShortContentOptions
    options: ShortContentOptions

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report non-empty text under the role's minimum (empty text is C001's)."""
        role = _role(message)
        minimum = self.options.min_chars.get(role)
        if minimum is None:
            return
        text = message.text()
        if not text or (len(text) >= minimum and not text[0].isspace() and not text[-1].isspace()):
            return
        length = len(text.strip())
        if 0 < length < minimum:
            yield self.at(
                example,
                field,
                index,
                f"{role} content has {length} characters, fewer than {minimum}",
                key="content",
                data={"chars": length, "min": minimum},
            )


class LongContent(_LengthRule):
    """A turn is longer than the configured maximum (by default: an assistant answer over 2,000
    characters in raw prompt/answer pairs).

    Raw pairs are usually meant to teach concise answers; one that runs far longer is often two
    records merged, a document pasted in by mistake, or a generation that rambled on. Long
    answers also dominate the tokens a job is billed for.

    Fix: trim or split the answer, or raise ``max-chars`` (``[tool.ftprep.rules.C003]
    max-chars = {assistant = 8000}``) when long answers are intended.
    """

    code = "C003"
    rejects_in = ("raw_pairs",)
    name = "long-content"
    severity = Severity.WARNING
    summary = "Turn is longer than the configured maximum"
    Options = LongContentOptions
    options: LongContentOptions

    def check_message(
        self, example: Example, ctx: RecordContext, field: str, index: int, message: Message
    ) -> Iterable[Finding]:
        """Report text over the role's maximum."""
        role = _role(message)
        maximum = self.options.max_chars.get(role)
        if maximum is None:
            return
        length = len(message.text())
        if length > maximum:
            yield self.at(
                example,
                field,
                index,
                f"{role} content has {length:,} characters, more than {maximum:,}",
                key="content",
                data={"chars": length, "max": maximum},
            )


# Chat-template markup of common model families. Each pattern runs only when its cheap
# pre-check substring is in the text.
_ANGLE_PIPE = re.compile(r"<\|[A-Za-z][A-Za-z0-9_]{2,}\|>")  # <|im_end|>, <|eot_id|>...
# DeepSeek writes its tokens with FULLWIDTH VERTICAL LINE (U+FF5C) instead of "|".
_FULLWIDTH = re.compile(r"<\uff5c[^\uff5c<>\n]{1,40}\uff5c>")
_LLAMA2 = re.compile(r"\[/?INST\]|<</?SYS>>")
_GEMMA = re.compile(r"<(?:start|end)_of_turn>")
_MISTRAL = re.compile(r"\[/?(?:TOOL_CALLS|AVAILABLE_TOOLS|TOOL_RESULTS|SYSTEM_PROMPT)\]")
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("<|", _ANGLE_PIPE),
    ("<\uff5c", _FULLWIDTH),
    ("INST]", _LLAMA2),
    ("SYS>>", _LLAMA2),
    ("_of_turn>", _GEMMA),
    ("TOOL", _MISTRAL),
    ("SYSTEM_PROMPT]", _MISTRAL),
)


def special_tokens_in(text: str, extra: Iterable[str] = ()) -> list[str]:
    """The distinct chat-template tokens written literally in ``text``, in order of first
    appearance.

    ``<s>`` and ``</s>`` count only where they cannot be HTML strikethrough: an unmatched
    ``<s>`` opening the text or an unmatched ``</s>`` closing it.

    >>> special_tokens_in("Sure!<|im_end|>\\n<|im_start|>user")
    ['<|im_end|>', '<|im_start|>']
    >>> special_tokens_in("It was <s>$20</s> $15.")
    []
    """
    found: dict[str, int] = {}
    for needle, pattern in _PATTERNS:
        if needle in text:
            for match in pattern.finditer(text):
                found.setdefault(match.group(), match.start())
    for token in extra:
        position = text.find(token)
        if position >= 0:
            found.setdefault(token, position)
    if "<s>" in text or "</s>" in text:
        stripped = text.strip()
        opens, closes = text.count("<s>"), text.count("</s>")
        if stripped.startswith("<s>") and opens > closes:
            found.setdefault("<s>", text.find("<s>"))
        if stripped.endswith("</s>") and closes > opens:
            found.setdefault("</s>", text.rfind("</s>"))
    return sorted(found, key=found.__getitem__)


class SpecialTokensOptions(RuleOptions):
    """Options of C004."""

    extra_tokens: list[str] = Field(default_factory=list)
    """More literal tokens to look for (a custom template's markers)."""


class SpecialTokens(MessageRule):
    """A turn contains raw chat-template tokens such as ``<|im_end|>``, ``<|eot_id|>``,
    ``[INST]`` or a closing ``</s>``.

    They are left over from data exported from another model's chat format. Trainers that
    parse special tokens in text turn them into real control tokens, so the model learns to
    end or restart turns in the middle of an answer; providers that treat them as text teach
    the model to print template markup. Either way the example trains the wrong thing.

    Fix: strip the markup when converting (take the messages, not the rendered prompt).
    Legitimate text about tokenizers can be kept with a per-file ignore.
    """

    code = "C004"
    name = "special-tokens"
    severity = Severity.WARNING
    summary = "Turn contains raw chat-template special tokens"
    per_file_summary = True
    Options = SpecialTokensOptions
    options: SpecialTokensOptions

    triggers = MARKUP

    def active_triggers(self) -> Triggers | None:
        """``<`` or ``[`` in the text, unless extra tokens are set (then every example)."""
        return None if self.options.extra_tokens else MARKUP

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report the template tokens found in each turn's text."""
        found: list[Finding] = []
        extra = self.options.extra_tokens
        for field, index, message in example.iter_messages():
            content = message.content
            text = content if type(content) is str else message.text()
            if not extra and "<" not in text and "[" not in text:
                continue
            tokens = special_tokens_in(text, extra)
            if not tokens:
                continue
            shown = ", ".join(repr(t) for t in tokens[:3])
            more = f" and {len(tokens) - 3} more" if len(tokens) > 3 else ""
            found.append(
                self.at(
                    example,
                    field,
                    index,
                    f"{_role(message) or 'message'} content contains raw special tokens: "
                    f"{shown}{more}",
                    key="content",
                    hint="strip chat-template markup when converting",
                    data={"tokens": tokens},
                )
            )
        return found


# Content parts and images.


def allowed_part_types(target: Target) -> frozenset[str]:
    """The content part types ``target`` accepts (``content_part_types`` when the target
    declares it; else text, plus ``image_url`` where images are supported)."""
    declared = getattr(target, "content_part_types", None)
    if declared is not None:
        return frozenset(declared)
    return frozenset({"text", "image_url"}) if target.supports_images else frozenset({"text"})


def image_roles(target: Target) -> frozenset[str]:
    """The roles whose turns may hold images (``image_roles`` when declared; else user)."""
    return frozenset(getattr(target, "image_roles", None) or {"user"})


def has_parts(example: Example) -> bool:
    """Whether any turn's content is a list of parts: the cheap test before the part rules
    look closer (almost every turn is a plain string)."""
    for value in (example.messages, example.chosen, example.rejected):
        if type(value) is list:
            for message in value:
                if type(getattr(message, "content", None)) is list:
                    return True
    return False


def _parts(example: Example) -> Iterator[tuple[str, int, Message, int, ContentPart]]:
    """``(field, index, message, position, part)`` for every content part of the example."""
    if not has_parts(example):
        return
    for field, index, message in example.iter_messages():
        content = message.content
        if isinstance(content, list):
            for position, part in enumerate(content):
                if isinstance(part, ContentPart):
                    yield field, index, message, position, part


def _images(example: Example) -> Iterator[tuple[str, int, Message, int, ContentPart]]:
    for item in _parts(example):
        if item[4].type == "image_url":
            yield item


class PartRule(RecordRule):
    """A record rule over content parts; findings point at ``/messages/i/content/j``."""

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples with content that is not a string (lists of parts among them)."""
        return traits.odd_content

    def at_part(
        self, example: Example, field: str, index: int, position: int, text: str, hint: str
    ) -> Finding:
        """A finding at part ``position`` of message ``index`` of ``field``."""
        return self.finding(
            example,
            text,
            message_index=index if field == "messages" else None,
            pointer=_content_pointer(field, index, position),
            hint=hint,
        )


class UnsupportedContentPart(PartRule):
    """A content part has a type the target does not accept in training data.

    Providers accept a fixed set of part types (OpenAI: ``text`` and ``image_url``); audio,
    files or a target without vision support make the provider reject the file. Parts without
    a string type are the structure rule S007's business.

    Fix: convert the part to text, drop it, or choose a target that supports it.
    """

    code = "C005"
    name = "unsupported-content-part"
    severity = Severity.ERROR
    summary = "Content part type is not accepted by the target"

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report parts whose type is outside the target's accepted types."""
        found: list[Finding] = []
        allowed: frozenset[str] | None = None
        for field, index, _message, position, part in _parts(example):
            kind = part.type
            if not isinstance(kind, str):
                continue
            if allowed is None:
                allowed = allowed_part_types(ctx.target)
            if kind not in allowed:
                found.append(
                    self.at_part(
                        example,
                        field,
                        index,
                        position,
                        f"content part {position} has type {kind!r}, which {ctx.target.name} does"
                        f" not accept (accepted: {', '.join(sorted(allowed))})",
                        hint="convert the part to text or drop it",
                    )
                )
        return found


class ImageOutsideUser(PartRule):
    """An image appears in a turn other than a user turn.

    Vision fine-tuning takes images as input only: OpenAI rejects images in system, assistant
    and tool messages. A model cannot learn to produce an image it is shown in its own answer.

    Fix: move the image into the user turn that asks about it.
    """

    code = "C006"
    name = "image-outside-user"
    severity = Severity.ERROR
    summary = "Image in a turn other than a user turn"

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report image parts in turns whose role may not hold images."""
        found: list[Finding] = []
        target = ctx.target
        if "image_url" not in allowed_part_types(target):
            return found
        roles = image_roles(target)
        for field, index, message, position, _part in _images(example):
            role = _role(message)
            if role not in roles:
                found.append(
                    self.at_part(
                        example,
                        field,
                        index,
                        position,
                        f"image in a {role or 'message'} turn; {target.name} accepts images only in"
                        f" {', '.join(sorted(roles))} turns",
                        hint="move the image into the user turn",
                    )
                )
        return found


class TooManyImages(PartRule):
    """The example holds more images than the target accepts in one example.

    OpenAI's vision fine-tuning takes at most 64 images per example and rejects the file
    otherwise.

    Fix: split the conversation into several examples, or drop images it does not need.
    """

    code = "C007"
    name = "too-many-images"
    severity = Severity.ERROR
    summary = "More images in one example than the target accepts"

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report the first image over the limit, with the total count."""
        found: list[Finding] = []
        limit = ctx.target.max_images_per_example
        if limit is None:
            return found
        images = list(_images(example))
        if len(images) > limit:
            field, index, _message, position, _part = images[limit]
            found.append(
                self.at_part(
                    example,
                    field,
                    index,
                    position,
                    f"example has {len(images)} images; {ctx.target.name} accepts at most {limit}",
                    hint="split the conversation or drop images",
                )
            )
        return found


_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,]*)*)(;base64)?,", re.A)
_FORMAT_ALIASES = {"jpg": "jpeg", "pjpeg": "jpeg"}
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF8", "gif"),
    (b"BM", "bmp"),
)
DETAILS = frozenset({"auto", "low", "high"})


def _sniff(head: bytes) -> str | None:
    """The image format of the first bytes of a file, when recognisable."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


def image_url_problem(image_url: Any, target: Target) -> str | None:
    """What is wrong with an ``image_url`` value for ``target``, or ``None``.

    Checks that it is an object ``{"url": ...}`` (a bare URL string is rejected by
    providers), the URL scheme, the ``detail`` value and, for a ``data:`` URL, that it is base64,
    its media type, its size (from the base64 length) and that its first bytes match the
    declared format.
    """
    if isinstance(image_url, str):
        return 'image_url is a bare string; providers take an object {"url": ...}'
    detail = None
    if isinstance(image_url, dict):
        url, detail = image_url.get("url"), image_url.get("detail")
    else:
        url = image_url
    if not isinstance(url, str) or not url:
        return "image part has no url"
    if detail is not None and detail not in DETAILS:
        return f"image detail {detail!r} is not one of auto, low, high"
    if url.startswith(("https://", "http://")):
        if getattr(target, "remote_image_urls", True):
            return None
        return f"{target.name} does not fetch remote images; embed the image as a data: URL"
    if not url.startswith("data:"):
        return f"image url {url[:40]!r} is neither an http(s) URL nor a data: URL"
    header = _DATA_URL.match(url)
    if header is None or header.group(3) is None:
        return "image data: URL is not base64-encoded (expected data:image/png;base64,...)"
    mime = (header.group(1) or "").lower()
    declared = _FORMAT_ALIASES.get(mime.removeprefix("image/"), mime.removeprefix("image/"))
    formats = target.image_formats
    if not mime.startswith("image/") or (formats and declared not in formats):
        accepted = ", ".join(sorted(formats)) or "image/*"
        return f"image type {mime or 'missing'!r} is not accepted (accepted: {accepted})"
    payload_start = header.end()
    payload_length = len(url) - payload_start
    size = payload_length * 3 // 4 - url.endswith("=") - url.endswith("==")
    limit = target.max_image_bytes
    if limit is not None and size > limit:
        return f"image is {_megabytes(size)}, over the {_megabytes(limit)} limit of {target.name}"
    try:
        head = base64.b64decode(url[payload_start : payload_start + 16], validate=True)
    except (binascii.Error, ValueError):
        return "image data: URL holds invalid base64"
    actual = _sniff(head)
    if actual is not None and actual != declared:
        return f"image is declared {mime} but its data is {actual.upper()}"
    return None


class InvalidImage(PartRule):
    """An image part cannot be used by the target: no URL (or a bare URL string instead of
    ``{"url": ...}``), a scheme the provider cannot fetch, a ``data:`` URL that is not base64,
    a format the target does not take (OpenAI: JPEG, PNG, WEBP), an image over the size limit
    (OpenAI: 10 MB), data that does not match its declared type, or an unknown ``detail``
    value.

    Providers reject the whole training file for one bad image, after uploading it. Checks use
    the URL only; remote images are not downloaded.

    Fix: re-encode the image as PNG or JPEG, downscale it, and embed it as
    ``data:image/png;base64,...`` (or use an https URL the provider can reach).
    """

    code = "C008"
    name = "invalid-image"
    severity = Severity.ERROR
    summary = "Image part has an unusable URL, format or size"

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report each image part whose URL the target cannot use."""
        found: list[Finding] = []
        target = ctx.target
        if "image_url" not in allowed_part_types(target):
            return found
        for field, index, _message, position, part in _images(example):
            problem = image_url_problem(part.image_url, target)
            if problem is not None:
                found.append(
                    self.at_part(
                        example,
                        field,
                        index,
                        position,
                        problem,
                        hint='write "image_url": {"url": ...}'
                        if isinstance(part.image_url, str)
                        else "embed a JPEG or PNG under the size limit as a data: URL",
                    )
                )
        return found


RULES: tuple[type[Rule], ...] = (
    EmptyContent,
    ShortContent,
    LongContent,
    SpecialTokens,
    UnsupportedContentPart,
    ImageOutsideUser,
    TooManyImages,
    InvalidImage,
)
