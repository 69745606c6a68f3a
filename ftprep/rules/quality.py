"""Q: Quality heuristics: boilerplate, refusals, unfilled slots, truncation, repetition.

Heuristics guess, so each rule is tuned on real fine-tuning data (Alpaca, GPTeacher, GSM8K,
LLaMA-Factory, FastChat, MLX and OpenAI cookbook examples) for few false positives on
legitimate short answers, code and arithmetic; only rules whose hits were all true defects
there default to ``error``. Every rule runs a cheap substring or length pre-check before any
regular expression, so the common record costs a few C-level string scans.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import ClassVar

from pydantic import Field

from ftprep.findings import Finding, Severity
from ftprep.model import Example
from ftprep.rules.base import RecordRule, RuleOptions, Triggers
from ftprep.rules.context import RecordContext
from ftprep.rules.texts import (
    MARKUP,
    code_spans,
    inside,
    previous_user_text,
    prompt_text,
)
from ftprep.rules.voice import in_own_voice, other_answers
from ftprep.view import PAIR_FIELDS, Turn

_APOS = "['\N{RIGHT SINGLE QUOTATION MARK}]"
_CANNOT = rf"(?:cannot|can{_APOS}t|can not|won{_APOS}t|will not|am unable to|am not able to)"


def _excerpt(text: str, start: int, end: int, width: int = 60) -> str:
    """The matched text, shortened, for a finding's message."""
    found = " ".join(text[start:end].split())
    return found if len(found) <= width else found[: width - 1] + "\N{HORIZONTAL ELLIPSIS}"


class PhraseOptions(RuleOptions):
    """Options of the phrase rules."""

    extra_phrases: list[str] = Field(default_factory=list)
    """More phrases (matched case-insensitively, as plain text) that count as a hit."""


class _PhraseRule(RecordRule):
    """A rule that looks for known phrases in trained assistant turns."""

    Options = PhraseOptions
    options: PhraseOptions
    #: Lower-case substrings, one of which must occur before the pattern runs.
    phrases: ClassVar[tuple[str, ...]]
    pattern: ClassVar[re.Pattern[str]]
    what: ClassVar[str]
    hint: ClassVar[str]

    def __init__(self, options: RuleOptions | None = None, severity: Severity | None = None):
        super().__init__(options, severity)
        self.extra = [p.lower() for p in self.options.extra_phrases]

    def active_triggers(self) -> Triggers | None:
        """One of the phrases in the texts (every example, with extra phrases)."""
        return None if self.extra else self.triggers

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        extra = self.extra
        view = ctx.view_of(example)
        for turn, low in zip(view.trained_answers, view.lowered_answers, strict=True):
            found: str | None = None
            for trigger in self.phrases:
                if trigger in low:
                    match = self.pattern.search(turn.text)
                    # Only the assistant's own voice: not a quotation, a character's line,
                    # or an answer to a question about itself.
                    if match and in_own_voice(example, turn, match.start()):
                        found = _excerpt(turn.text, *match.span())
                    break
            if found is None and extra:  # the user's own phrases match as plain text
                found = next((p for p in extra if p in low), None)
            if found is None:
                continue
            hint = self.hint_for(example, turn)
            if hint is not None:
                findings.append(
                    self.finding(
                        example, f"assistant turn {self.what}: {found!r}", at=turn, hint=hint
                    )
                )
        return findings

    def hint_for(self, example: Example, turn: Turn) -> str | None:
        """The hint for a phrase found in ``turn``, or ``None`` when it is no defect there."""
        return self.hint


class AiDisclaimer(_PhraseRule):
    """An assistant turn talks about itself as an AI ("As an AI language model, I ...",
    "I don't have personal opinions", "my knowledge cutoff").

    Fine-tuning on such answers teaches the model a generic assistant persona and its
    hedges, usually the opposite of what the fine-tune is for; they are the signature of
    answers distilled from a general chat model. A persona that is an AI by design
    ("As an AI personal assistant, I had ...") or an identity answer ("As a language model,
    I go by the name Vicuna") is not matched: the rule wants the disclaimer forms.

    Fix: rewrite the answer without the disclaimer, or drop the example. Add your own
    phrases with the ``extra-phrases`` option.
    """

    code = "Q001"
    rejects_in = ("raw_pairs",)
    name = "ai-disclaimer"
    severity = Severity.WARNING
    summary = "Assistant turn contains an AI self-disclaimer"
    phrases = (
        "as an",
        "an ai",
        "language model",
        "artificial intelligence",
        "have personal",
        "have the ability",
        "have the capability",
        "cutoff",
        "cut-off",
    )
    triggers = Triggers("ai-disclaimer", folded=phrases)
    pattern = re.compile(
        r"\bas an? (?:ai|artificial intelligence)"
        r"(?: (?:language model|assistant|model|chatbot|system))?,"
        r"|\bas a large language model,"
        rf"|\bi{_APOS}?(?:m| am) (?:just|only|merely) (?:an ai|an artificial intelligence"
        r"|a (?:large )?language model|a computer program)\b"
        rf"|\bi{_APOS}?(?:m| am) (?:an ai|a) (?:large )?language model,? (?:and |so )?i? ?"
        rf"(?:do not|don{_APOS}t|cannot|can{_APOS}t|am not)\b"
        rf"|\bi (?:do not|don{_APOS}t) have (?:personal (?:opinions|feelings|experiences|"
        r"preferences|beliefs|emotions)|the (?:ability|capability) to (?:feel|browse|access))"
        r"|\bmy (?:training data|knowledge) (?:cutoff|cut-off)",
        re.I,
    )
    what = "contains an AI disclaimer"
    hint = "rewrite the answer without the disclaimer, or drop the example"


class Refusal(_PhraseRule):
    """An assistant turn refuses ("I'm sorry, but I can't ...", "I cannot assist with that").

    A refusal in supervised data teaches the model to refuse that kind of request. That is
    right for safety data and out-of-scope requests the fine-tune is meant to decline, and
    wrong when the refusal leaked in from a teacher model that could not do the task
    ("I cannot browse the internet"). "I can't help but ..." is not a refusal and is not
    matched.

    Not reported: a refusal on the chosen side of a preference pair whose rejected side
    complies (refusing is what the pair teaches, as in safety data such as HH harmless), a
    refusal inside quoted text, a line of a dialogue or script, a story, poem or lyrics the
    user asked for, and an answer to a question about the assistant's own limits ("can you
    browse the web?"). The hint never says to drop the example: dropping a safety refusal
    removes the signal.

    Information only: whether a refusal is wrong depends on what the fine-tune is meant to
    decline, which the text does not show. On the precision benchmark (docs/precision.md)
    its remaining findings were deliberate refusals (a tool assistant declining questions
    its tools cannot answer), so as a warning it would mostly be wrong.

    Fix: check that the refusals are intended; replace unintended ones with real answers.
    Add your own phrases with the ``extra-phrases`` option.
    """

    code = "Q002"
    rejects_in = ("raw_pairs",)
    name = "refusal"
    severity = Severity.INFO
    summary = "Assistant turn refuses the request"
    phrases = (
        "sorry",
        "afraid",
        "apolog",
        "cannot",
        "can't",
        "can\N{RIGHT SINGLE QUOTATION MARK}t",
        "can not",
        "unable",
        "not able",
        "won't",
        "won\N{RIGHT SINGLE QUOTATION MARK}t",
        "will not",
    )
    triggers = Triggers("refusal", folded=phrases)
    pattern = re.compile(
        rf"\bi{_APOS}?(?:m| am) (?:so |very |really |truly )?(?:sorry|afraid)[,.!]? "
        rf"(?:but )?(?:as an ai[^.\n]{{0,40}}?,? )?i {_CANNOT}"
        rf"|\bi apologi[sz]e[,.!]? (?:but )?i {_CANNOT}"
        rf"|\bi {_CANNOT} (?:assist\b|help(?: you)? with (?:that|this|your)\b|fulfill\b"
        r"|comply\b|provide (?:assistance|help) with\b)",
        re.I,
    )
    what = "refuses"
    hint = (
        "keep it if the fine-tune should refuse such requests (safety, out of scope); "
        "otherwise write the answer"
    )

    def hint_for(self, example: Example, turn: Turn) -> str | None:
        """Nothing on the chosen side of a pair whose rejected side does not refuse (refusing
        is what the pair teaches: safety data); where both sides refuse, say so."""
        others = other_answers(example, turn)
        if not others:
            return self.hint
        if not any(self.pattern.search(text) for text in others):
            return None
        return "both answers of the pair refuse: the pair cannot teach when to refuse"


class SlotOptions(RuleOptions):
    """Options of :class:`UnfilledTemplateSlot`."""

    dollar_braces: bool = False
    """Also report ``${name}`` outside code (off by default: shell, JavaScript and Scala
    answers write it in unfenced code)."""


_SLOT = re.compile(r"(?<![${])\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}(?!\})")
_DOLLAR_SLOT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_SLOT_TRIGGERS = Triggers("template-slot", exact=("{{",))
_ANY_SLOT_TRIGGERS = Triggers("template-slot", exact=("{{", "${"))
#: A line holding one of these is template code even outside a fence (HTML, Jinja tags).
_TEMPLATE_LINE_MARKERS = ("</", "/>", "{%", "%}")


class UnfilledTemplateSlot(RecordRule):
    """A turn holds a template slot that was never filled: ``{{name}}``, ``{{ author }}``.

    Data generated from templates ("I am {{name}}, developed by {{author}}") must have its
    slots replaced before training; otherwise the model learns to say the braces. Slots in
    Markdown code (fenced blocks and inline code), on lines that are template code (HTML or
    Jinja tags), and GitHub Actions expressions (``${{ secrets.X }}``) are not reported, nor
    anything that is not a plain name (``{{ . }}``, ``{{#each}}``). ``${name}`` is reported only
    with the ``dollar-braces`` option, since shell and JavaScript code often goes unfenced.

    Fix: fill the slots (``sed 's/{{name}}/Ada/g'``, or your template tool) before training.
    """

    code = "Q003"
    name = "unfilled-template-slot"
    severity = Severity.ERROR
    summary = "Turn contains an unfilled template slot"
    Options = SlotOptions
    options: SlotOptions

    triggers = _SLOT_TRIGGERS

    def active_triggers(self) -> Triggers | None:
        """``{{`` in the texts (or ``${`` too, with ``dollar-braces``)."""
        return _ANY_SLOT_TRIGGERS if self.options.dollar_braces else _SLOT_TRIGGERS

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        view = ctx.view_of(example)
        findings: list[Finding] = []
        dollar = self.options.dollar_braces
        joined = view.joined_texts
        if "{{" not in joined and not (dollar and "${" in joined):
            return findings
        for turn in view.turns:
            text = turn.text
            slots = _slots(text, _SLOT) if "{{" in text else []
            if dollar and "${" in text:
                slots += _slots(text, _DOLLAR_SLOT)
            if slots:
                names = ", ".join(dict.fromkeys(slots))
                findings.append(
                    self.finding(
                        example,
                        f"{turn.role or 'message'} turn has unfilled template slot(s): {names}",
                        at=turn,
                        hint="fill the template slots before training",
                        data={"slots": sorted(set(slots))},
                    )
                )
        return findings


def _slots(text: str, pattern: re.Pattern[str]) -> list[str]:
    """The slots ``pattern`` finds in ``text`` outside code."""
    found: list[str] = []
    spans: list[tuple[int, int]] | None = None
    for match in pattern.finditer(text):
        if spans is None:
            spans = code_spans(text)
        start = match.start()
        if inside(start, spans):
            continue
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line = text[line_start : len(text) if line_end < 0 else line_end]
        if any(marker in line for marker in _TEMPLATE_LINE_MARKERS):
            continue
        found.append(match.group(0))
    return found


_FILL_IN = re.compile(
    r"\[(?:insert|your|enter (?:your|the|a)|add (?:your|the|a)|name of|placeholder)\b"
    r"[^\]\n]{0,60}\]"
    r"|<(?:YOUR|INSERT|PLACEHOLDER)(?:[ _][A-Z_ ]{0,40})?>",
    re.I,
)


class FillInPlaceholder(RecordRule):
    """An assistant answer asks the reader to fill something in: ``[Your Name]``,
    ``[insert date]``, ``<YOUR_API_KEY>``.

    Often deliberate (a letter template, a code sample with a key to supply), so this is
    information only. In bulk it teaches the model to answer with blanks instead of content,
    and it reveals answers generated without the details they needed.

    Fix: where the details are known, put them in; otherwise leave as is or ignore ``Q004``.
    """

    code = "Q004"
    name = "fill-in-placeholder"
    severity = Severity.INFO
    summary = "Assistant turn contains a fill-in-the-blank placeholder"

    triggers = MARKUP

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        for turn in ctx.view_of(example).trained_answers:
            text = turn.text
            if "[" not in text and "<" not in text:
                continue
            found = [m.group(0) for m in _FILL_IN.finditer(text)]
            if found:
                shown = ", ".join(dict.fromkeys(found[:5]))
                findings.append(
                    self.finding(
                        example,
                        f"assistant turn has fill-in placeholder(s): {shown}",
                        at=turn,
                        hint="fill in the details, or ignore Q004 if the blanks are intended",
                    )
                )
        return findings


_PLACEHOLDER_ANSWERS = (
    "nooutput",
    "noinput",
    "noanswer",
    "noresponse",
    "n/a",
    "todo",
    "tbd",
    "fixme",
    "placeholder",
    "...",
    "\N{HORIZONTAL ELLIPSIS}",
    "loremipsum",
)


class PlaceholderAnswerOptions(RuleOptions):
    """Options of :class:`PlaceholderAnswer`."""

    tokens: list[str] = Field(default_factory=lambda: list(_PLACEHOLDER_ANSWERS))
    """Whole answers that count as placeholders, compared case-insensitively after removing
    surrounding brackets, quotes, a final full stop, spaces, ``_`` and ``-``."""


_PLACEHOLDER_MAX_CHARS = 40
_PLACEHOLDER_STRIP = " \t\r\n<>[](){}\"'`*"
_PLACEHOLDER_DROP = str.maketrans("", "", " _-\t")


def _placeholder_key(text: str) -> str:
    key = text.strip(_PLACEHOLDER_STRIP).lower().translate(_PLACEHOLDER_DROP)
    return key if key in ("...", "\N{HORIZONTAL ELLIPSIS}") else key.rstrip(".")


def _quoted_in(prompt: str, answer: str) -> bool:
    """Whether ``prompt`` quotes ``answer`` (``If it is unanswerable, output "No answer"``):
    then the answer is the one asked for."""
    low, quoted = prompt.lower(), answer.lower()
    return any(
        f"{opening}{quoted}{closing}" in low
        for opening, closing in (('"', '"'), ("'", "'"), ("\u201c", "\u201d"), ("`", "`"))
    )


class PlaceholderAnswer(RecordRule):
    """The whole answer is a placeholder, not content: ``<nooutput>``, ``N/A``, ``TODO``,
    ``...``, lorem ipsum.

    Generators write these when they could not answer (the Alpaca data has ``<nooutput>``
    for instructions that asked for an image). Training on them teaches the model to answer
    with the placeholder. An answer the prompt quotes as the one to give (``If it is
    unanswerable, output "No answer"``) is not reported.

    Fix: write the answer, or drop the example. Configure the list with ``tokens``.
    """

    code = "Q005"
    name = "placeholder-answer"
    severity = Severity.ERROR
    summary = "Assistant answer is only a placeholder"
    Options = PlaceholderAnswerOptions
    options: PlaceholderAnswerOptions

    def __init__(self, options: RuleOptions | None = None, severity: Severity | None = None):
        super().__init__(options, severity)
        self.tokens = frozenset(_placeholder_key(t) for t in self.options.tokens)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        tokens = self.tokens
        view = ctx.view_of(example)
        for turn in view.trained_answers:
            text = turn.text
            if len(text) > _PLACEHOLDER_MAX_CHARS:
                if not text[:12].lower().startswith("lorem ipsum"):
                    continue
                key = "loremipsum"
            else:
                key = _placeholder_key(text)
                if key.startswith("loremipsum"):
                    key = "loremipsum"
            if key in tokens and not _quoted_in(prompt_text(view), text.strip()):
                findings.append(
                    self.finding(
                        example,
                        f"assistant answer is a placeholder: {_excerpt(text, 0, len(text), 30)!r}",
                        at=turn,
                        hint="write the real answer or drop the example",
                    )
                )
        return findings


_FENCE = Triggers("fence", exact=("```", "~~~"))
_OPENING_BRACKET = Triggers("opening-bracket", any_byte=b"{[")
_NOT_PROSE = re.compile(r"^(?:[-*+\N{BULLET}#>|]|\d+[.)]|[A-Za-z][.)]\s)")
#: A Markdown heading of level 2 or more with a word in it (a single ``#`` opens a comment in
#: shell and Python code too, and ``#### 42`` is GSM8K's final-answer line).
_HEADING = re.compile(r"#{2,6}[ \t]+\S*[^\W\d_]")
#: A list marker with nothing after it, and a list item with text.
_BARE_BULLET = re.compile(r"(?:[-*+\N{BULLET}]|\d{1,3}[.)])")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+\N{BULLET}]|\d{1,3}[.)])[ \t]+\S", re.M)
#: Characters that open something the text must go on to close.
#: (Brackets, and the opening curly quotes and guillemet: U+201C, U+2018, U+00AB.)
_OPENERS = frozenset("([{\u201c\u2018\u00ab")
_ELLIPSES = ("...", "\N{HORIZONTAL ELLIPSIS}")
#: Last characters of a finished sentence (a full stop unless it is an ellipsis).
_FINISHED = frozenset(".!?\"')\N{RIGHT DOUBLE QUOTATION MARK}\N{RIGHT SINGLE QUOTATION MARK}")
#: The start of a JSON object or array (``[INT. KITCHEN`` and ``[a link](...)`` are prose).
_JSON_START = re.compile(r"\s*[\[{]\s*(?:[\"'{\[\d-]|true|false|null)")
_LAST_SENTENCE = re.compile(r"(?<=[.!?])\s+")
#: Words a finished sentence does not end on: articles, conjunctions, possessive determiners,
#: subject pronouns, a few auxiliaries and contractions (apostrophe written straight), in English
#: and French.
_DANGLING_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "than",
        "because",
        "although",
        "whereas",
        "if",
        "whether",
        "such",
        "including",
        "my",
        "your",
        "our",
        "their",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "can",
        "will",
        "very",
        "he",
        "she",
        "we",
        "they",
        "it's",
        "that's",
        "there's",
        "here's",
        "what's",
        "i'm",
        "you're",
        "we're",
        "they're",
        "let's",
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "du",
        "de",
        "et",
        "ou",
        "mais",
        "au",
        "aux",
        "leur",
        "leurs",
        "ce",
        "cette",
        "ces",
        "mon",
        "ma",
        "mes",
        "votre",
        "vos",
        "notre",
        "nos",
    ]
)
#: Prepositions, and ``that``: a sentence ends on them only when they are stranded ("what
#: you are talking about", "anything I can help with", "I love that").
_PREPOSITIONS = frozenset(
    [
        "of",
        "to",
        "in",
        "into",
        "onto",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "about",
        "as",
        "through",
        "via",
        "per",
        "upon",
        "toward",
        "towards",
        "during",
        "among",
        "between",
        "à",
        "avec",
        "sans",
        "sur",
        "dans",
        "que",
        "qui",
    ]
)
#: In a last sentence with one of these, a final preposition may be stranded.
_STRANDING = re.compile(
    r"\b(?:what|who|whom|where|anything|something|everything|nothing|anyone"
    r"|someone|everyone|anybody|somebody)\b",
    re.I,
)
#: Words after which ``that`` is an object pronoun, not a conjunction.
_BEFORE_PRONOUN_THAT = frozenset(
    [
        "do",
        "did",
        "does",
        "done",
        "doing",
        "like",
        "love",
        "hate",
        "know",
        "see",
        "mean",
        "said",
        "say",
    ]
)


class TruncationOptions(RuleOptions):
    """Options of :class:`TruncatedAnswer`."""

    min_words: int = Field(4, ge=1)
    """Words the last line needs before an unfinished sentence counts (short answers such as
    "Positive" or "Jane Austen" are complete without a full stop)."""


class TruncatedAnswer(RecordRule):
    """An assistant answer looks cut off: its last sentence stops on a comma, a colon, an
    opening bracket or quote, or a word no sentence ends on ("the", "of", "and", "that's",
    also before a trailing ``...``); it ends on a Markdown heading or an empty list item; a
    code fence is never closed; or a structured answer (JSON, code) leaves a ``{`` or ``[``
    open. Chosen and rejected answers of preference pairs are checked too, and the message
    says which side: a pair whose rejected answer is cut off teaches length, not quality.

    Answers truncated at a generator's token limit teach the model to stop mid-thought. A
    missing final full stop alone is not reported (human-typed answers often end without
    one), nor short answers ("Positive", "42"), one-line SQL, lists, tables, hashtags,
    sign-offs, arithmetic lines, inline triple-backtick spans (```x``` inside a line) or
    brackets in prose. Words cut in the middle are not recognised. It is still a heuristic,
    so it warns.

    Fix: regenerate the answer with a higher token limit, complete it by hand, or drop it.
    """

    code = "Q006"
    name = "truncated-answer"
    severity = Severity.WARNING
    summary = "Assistant answer looks cut off"
    Options = TruncationOptions
    options: TruncationOptions
    hints = (_FENCE, _OPENING_BRACKET)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        view = ctx.view_of(example)
        findings: list[Finding] = []
        hits = view.hits
        fences, brackets = _FENCE in hits, _OPENING_BRACKET in hits
        answers = view.trained_answers
        if view.traits.preference:
            answers = (*answers, *view.rejected_answers)
        for turn in answers:
            text = turn.text
            why = _truncation(
                text.rstrip() if text[-1].isspace() else text,
                self.options.min_words,
                fences=fences,
                brackets=brackets,
            )
            if why:
                side = turn.field if turn.field in PAIR_FIELDS else "assistant"
                findings.append(
                    self.finding(
                        example,
                        f"{side} answer looks cut off: {why}",
                        at=turn,
                        hint="complete or regenerate the answer, or drop the example",
                    )
                )
        return findings


def _truncation(text: str, min_words: int, *, fences: bool, brackets: bool) -> str | None:
    """Why ``text`` looks cut off, or ``None`` (``fences``, ``brackets``: whether the example
    may hold code fences or opening brackets at all, which rules them out in most answers
    without a scan)."""
    if not text:
        return None
    last_line = text[text.rfind("\n") + 1 :].strip()
    if fences and ("```" in text or "~~~" in text) and _fence_left_open(text):
        unfinished = _unfinished_sentence(last_line, min_words)
        if unfinished:
            return f"{unfinished}, inside a code block that is never closed"
        return "a code fence is never closed (the answer stops inside a code block)"
    if brackets and _structured(text):
        for opening, closing in (("{", "}"), ("[", "]")):
            if text.count(opening) > text.count(closing):
                return f"more '{opening}' than '{closing}' in a structured answer"
    if last_line.startswith("##") and _HEADING.match(last_line) and len(last_line) < len(text):
        return (
            f"ends on a heading with nothing under it: {_excerpt(last_line, 0, len(last_line))!r}"
        )
    if (
        len(last_line) <= 4
        and _BARE_BULLET.fullmatch(last_line)
        and _LIST_ITEM.search(text, 0, len(text) - len(last_line))
    ):
        return f"ends on an empty list item: {last_line!r}"
    return _unfinished_sentence(last_line, min_words)


def _unfinished_sentence(line: str, min_words: int) -> str | None:
    """How a last line of prose stops mid-sentence, or ``None``."""
    if not line or (line[-1] in _FINISHED and not line.endswith(_ELLIPSES)):
        return None  # the common case: a finished sentence
    # At most ``min_words`` pieces, the last one the last word: enough to tell whether the
    # line has ``min_words`` words without splitting all of a long one-line answer.
    words = line.rsplit(None, min_words - 1)
    if len(words) < min_words or _NOT_PROSE.match(line):
        return None
    if "=" in line and "=" in _LAST_SENTENCE.split(line)[-1]:
        return None  # arithmetic or code: ``x = a`` ends on a name, not an article
    body = line
    trailing = line.endswith(_ELLIPSES)
    if trailing:
        body = line.rstrip(".\N{HORIZONTAL ELLIPSIS}").rstrip()
        if not body:
            return None
    end = body[-1]
    if _dangling(body):
        what = "trails off with '...' mid-sentence" if trailing else "stops mid-sentence"
    elif trailing:
        return None
    elif end == ",":
        what = "stops mid-sentence on a comma"
    elif end == ":":
        what = "ends on a colon, before what it announces"
    elif end in _OPENERS:
        what = f"ends on an opening {end!r}"
    else:
        return None
    return f"{what}: ends with {_excerpt(line, max(0, len(line) - 40), len(line))!r}"


def _dangling(sentence: str) -> bool:
    """Whether ``sentence`` ends on a word no finished sentence ends on."""
    tail = sentence.rsplit(None, 2)
    last = tail[-1].lower().replace("\N{RIGHT SINGLE QUOTATION MARK}", "'")
    if last in _DANGLING_WORDS:
        return True
    before = tail[-2].lower() if len(tail) > 1 else ""
    if last == "that":
        return before not in _PREPOSITIONS and before not in _BEFORE_PRONOUN_THAT
    if last in _PREPOSITIONS:
        return not _STRANDING.search(_LAST_SENTENCE.split(sentence)[-1])
    return False


def _fence_left_open(text: str) -> bool:
    """Whether a Markdown code fence of ``text`` is opened and never closed.

    A line that opens and closes a fence (StackExchange's ```x``` inside a line) opens
    nothing, and a block is closed by a fence at the start or the end of a line (``</html>```
    ends many hand-written blocks)."""
    opened = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not opened:
            if stripped.startswith(("```", "~~~")):
                marker = stripped[: len(stripped) - len(stripped.lstrip(stripped[0]))]
                if "```" not in stripped[len(marker) :]:
                    opened = marker
        elif stripped.startswith(opened) or stripped.endswith(opened):
            opened = ""
    return bool(opened)


def _structured(text: str) -> bool:
    """Whether ``text`` is JSON or code, where brackets must balance (in prose they need not:
    emoticons, numbered points "1)", LaTeX ``\\{``)."""
    return _JSON_START.match(text) is not None or "{\n" in text or text.count(";\n") > 1


class RepetitionOptions(RuleOptions):
    """Options of :class:`RepetitiveAnswer`."""

    min_words: int = Field(50, ge=2)
    """Shorter answers are not judged."""
    ngram: int = Field(10, ge=2, le=50)
    """Length of the word n-grams compared."""
    max_fraction: float = Field(0.7, gt=0.0, le=1.0)
    """Largest acceptable fraction of the answer's characters inside repeated n-grams."""


#: Probe positions (fractions of the text) and probe length for the cheap pre-check.
_PROBES = (0.2, 0.4, 0.6, 0.8)
_PROBE_CHARS = 24


def duplicate_ngram_fraction(words: list[str], n: int) -> float:
    """Fraction of the characters of ``words`` that lie in word n-grams occurring more than
    once (Gopher's duplicate n-gram character fraction)."""
    if len(words) <= n:
        return 0.0
    grams = list(zip(*(words[i:] for i in range(n)), strict=False))
    counts = Counter(grams)
    covered = bytearray(len(words))
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            covered[i : i + n] = b"\x01" * n
    total = sum(map(len, words))
    duplicated = sum(len(w) for w, c in zip(words, covered, strict=True) if c)
    return duplicated / total if total else 0.0


def _may_repeat(text: str) -> bool:
    """Cheap pre-check: some probe substring of ``text`` occurs twice.

    A text with most of its characters in repeated n-grams fails it only if every probe
    lands in the unrepeated remainder.
    """
    size = len(text)
    for fraction in _PROBES:
        start = int(size * fraction)
        if text.count(text[start : start + _PROBE_CHARS]) > 1:
            return True
    return False


#: A line of a table, CSV or TSV file, JSON, SQL or code rather than of prose: it starts with
#: table, bracket or quote punctuation or an SQL keyword, ends with code punctuation, holds a
#: tab, two table bars, an assignment or two commas without ending a sentence.
_RECORD_LINE = re.compile(
    r"^\s*(?:[|{}\[\]\"'<]|(?:select|insert|update|delete|create|values|from|where|join|set"
    r"|alter|drop|order|group|and|or)\b)"
    r"|[|;{}\[\],():]\s*$|\t|\|.*\||\s=\s|^[^.!?]*,[^.!?]*,[^.!?]*$",
    re.I,
)
_FENCED = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)", re.M | re.S)


def _structured_lines(text: str) -> bool:
    """Whether most lines of ``text`` (at least three) are records or code, not prose."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        return _JSON_START.match(text) is not None
    records = sum(1 for line in lines if _RECORD_LINE.search(line))
    return records >= 0.6 * len(lines)


def repeated_line_fraction(text: str) -> float:
    """Fraction of the characters of ``text``'s lines that repeat the line before them (a
    generation looping on one row or statement)."""
    total = repeated = 0
    previous = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        total += len(stripped)
        if stripped == previous:
            repeated += len(stripped)
        previous = stripped
    return repeated / total if total else 0.0


class RepetitiveAnswer(RecordRule):
    """An assistant answer repeats itself: most of its characters lie in word n-grams that
    occur more than once (Gopher's duplicate n-gram fraction, with chat thresholds), or, in a
    structured answer, in lines that repeat the line before them.

    Degenerate loops ("Eat a banana! Eat a banana! ...") come from generation gone wrong;
    training on them makes the model loop. Web-data filters flag far less repetition than
    this, but chat answers repeat legitimately (song choruses, step-by-step arithmetic), so
    only answers of at least ``min-words`` words with more than ``max-fraction`` of their
    characters in repeated ``ngram``-grams are reported (real songs and GSM8K solutions stay
    below 0.62). In tables, CSV, JSON, lists of records, SQL and code the repeated keys and
    statements are the format: there (and in fenced code) only the same line written again
    and again counts.

    Fix: regenerate the answer or drop the example.
    """

    code = "Q007"
    name = "repetitive-answer"
    severity = Severity.WARNING
    summary = "Assistant answer is mostly repeated text"
    Options = RepetitionOptions
    options: RepetitionOptions

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        opts = self.options
        for turn in ctx.view_of(example).trained_answers:
            text = turn.text
            # A word is at least two characters with its space: a cheap lower bound first.
            if len(text) < 2 * opts.min_words or not _may_repeat(text):
                continue
            words = text.split()
            if len(words) < opts.min_words:
                continue
            prose = _FENCED.sub("\n", text) if "```" in text or "~~~" in text else text
            if prose is not text:
                words = prose.split()
            if len(words) < opts.min_words or _structured_lines(prose):
                fraction = repeated_line_fraction(text)
                what = "lines repeating the line before them"
            else:
                fraction = duplicate_ngram_fraction(words, opts.ngram)
                what = f"repeated {opts.ngram}-word sequences"
            if fraction > opts.max_fraction:
                findings.append(
                    self.finding(
                        example,
                        f"{fraction:.0%} of the assistant answer is {what} "
                        f"(limit {opts.max_fraction:.0%})",
                        at=turn,
                        hint="regenerate the answer or drop the example",
                        data={"fraction": round(fraction, 4)},
                    )
                )
        return findings


# UTF-8 read as cp1252 or Latin-1: a lead byte shown as a character in U+00C2-U+00DF
# (two-byte sequences) or as U+00E2 (three-byte punctuation such as curly quotes and dashes),
# then continuation bytes 0x80-0xBF shown as their cp1252 or Latin-1 characters.
_CONTINUATION = re.escape(bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore")) + "\x80-\x9f"
_MOJIBAKE = re.compile(rf"[\xc2-\xdf][{_CONTINUATION}]|\xe2[{_CONTINUATION}]{{2}}|\ufffd")
_NON_ASCII = Triggers("non-ascii", any_byte=bytes(range(0x80, 0x100)))


class Mojibake(RecordRule):
    """A turn contains mojibake (``Ã©`` for ``é``, ``â€™`` for a right single quotation
    mark) or U+FFFD replacement characters.

    Both come from text decoded with the wrong encoding somewhere upstream (UTF-8 read as
    cp1252 or Latin-1, or undecodable bytes replaced). The model learns the garbage.

    Fix: repair the text at its source (``ftfy.fix_text`` repairs most mojibake); text with
    U+FFFD lost its original characters and has to be re-exported.
    """

    code = "Q008"
    name = "mojibake"
    severity = Severity.WARNING
    summary = "Turn contains mojibake or replacement characters"

    triggers = _NON_ASCII

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        view = ctx.view_of(example)
        findings: list[Finding] = []
        if view.joined_texts.isascii():
            return findings
        for turn in view.turns:
            text = turn.text
            if text.isascii():
                continue
            match = _MOJIBAKE.search(text)
            if match:
                shown = "U+FFFD" if match.group(0) == "\ufffd" else repr(match.group(0))
                findings.append(
                    self.finding(
                        example,
                        f"{turn.role or 'message'} turn has mis-decoded text: {shown}",
                        at=turn,
                        hint="repair the encoding at the source (ftfy.fix_text) or re-export",
                    )
                )
        return findings


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Bytes an ASCII text may hold: tab, newline, carriage return and the printable range.
_ALLOWED_ASCII = bytes([9, 10, 13, *range(32, 127)])
#: The ASCII controls, and the lead byte of U+0080-U+00BF in UTF-8 (the C1 controls among
#: them: a superset is enough to rule texts out).
_CONTROL_BYTES = Triggers(
    "control", any_byte=bytes(b for b in range(128) if b not in _ALLOWED_ASCII) + b"\xc2"
)


def _has_control(text: str) -> bool:
    """Cheap exact test; ASCII text (the common case) is checked with ``bytes.translate``."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _ALLOWED_ASCII))
    return _CONTROL.search(text) is not None


class ControlCharacters(RecordRule):
    """A turn contains control characters other than newline, tab and carriage return
    (NUL, backspace, escape, form feed, DEL, the C1 range).

    They are invisible in most viewers, often break tokenizers or provider validation, and
    usually come from binary data, terminal output (ANSI colour codes) or bad conversions.

    C1 controls that are part of mojibake (``Ã\x80``: UTF-8 read as Latin-1) are left to
    Q008, so one defect is reported once.

    Fix: remove them (``re.sub(r"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]", "", text)``).
    """

    code = "Q009"
    name = "control-characters"
    severity = Severity.WARNING
    summary = "Turn contains control characters"

    triggers = _CONTROL_BYTES

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        view = ctx.view_of(example)
        findings: list[Finding] = []
        if not _has_control(view.joined_texts):
            return findings
        for turn in view.turns:
            text = turn.text
            if not _has_control(text):
                continue
            # C1 controls that are the second byte of mojibake are Q008's to report, once.
            controls = _CONTROL.findall(_MOJIBAKE.sub("", text) if not text.isascii() else text)
            if controls:
                codes = ", ".join(f"U+{ord(c):04X}" for c in sorted(set(controls))[:5])
                findings.append(
                    self.finding(
                        example,
                        f"{turn.role or 'message'} turn has {len(controls)} control "
                        f"character(s): {codes}",
                        at=turn,
                        hint="remove control characters other than \\n, \\t and \\r",
                    )
                )
        return findings


class EchoOptions(RuleOptions):
    """Options of :class:`AnswerRepeatsPrompt`."""

    min_chars: int = Field(8, ge=1)
    """Shortest answer compared with the end of the prompt after a blank line (shorter answers
    are only compared with the whole prompt, so a one-word choice is not reported)."""


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


class AnswerRepeatsPrompt(RecordRule):
    """An assistant answer is identical to the user turn before it, or to the end of that turn
    after a blank line (the ``input`` of an Alpaca-style instruction), after trimming
    surrounding whitespace.

    Usually a generation failure ("Rewrite this sentence" answered with the sentence), and
    training on it teaches the model to echo. Sometimes the input was already the right
    answer (sorting words that are already in order; "edit this sentence" on a sentence
    with nothing to fix). Whitespace inside the text counts, so an answer that only removes
    extra spaces is not reported.

    Information only: on the precision benchmark (docs/precision.md) one of its two
    findings was such an intended echo, below the 0.80 a warning must reach.

    Fix: write the transformed answer, or drop the example.
    """

    code = "Q010"
    name = "answer-repeats-prompt"
    severity = Severity.INFO
    summary = "Assistant answer repeats the user's text"
    Options = EchoOptions
    options: EchoOptions

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        for turn in ctx.view_of(example).trained_answers:
            prompt = previous_user_text(example, turn)
            if not prompt:
                continue
            answer = _normalise(turn.text)
            if not answer or answer not in prompt:
                continue
            prompt = _normalise(prompt)
            whole = answer == prompt
            if whole or (
                len(answer) >= self.options.min_chars
                and prompt.endswith(answer)
                and prompt.endswith("\n\n", 0, len(prompt) - len(answer))
            ):
                what = "the user turn" if whole else "the end of the user turn after a blank line"
                findings.append(
                    self.finding(
                        example,
                        f"assistant answer is identical to {what}",
                        at=turn,
                        hint="write the transformed answer, or drop the example",
                    )
                )
        return findings


_HTML_TAG = re.compile(
    r"</?(?:br|p|div|span|b|i|u|em|strong|a|li|ul|ol|h[1-6]|hr|img|table|tr|td|th|font|center"
    r"|sup|sub|small|big|blockquote|pre|code|tt)\b[^<>\n]{0,200}?/?>",
    re.I,
)
_HTML_ENTITY = re.compile(r"&(?:#\d{2,6}|#[xX][0-9a-fA-F]{2,5}|[a-zA-Z]{2,8});")
_HTML = Triggers("html", any_byte=b"<&")
#: A prompt that asks for markup (or code that holds it) makes tags in the answer intended.
_MARKUP_ASKED = re.compile(
    r"\b(?:html|xhtml|xml|jsx|tsx|svg|markup|tags?|web ?pages?|websites?|react|vue|angular"
    r"|svelte|css|dom|rss|e-?mail template|markdown|php|javascript|js)\b",
    re.I,
)


def _html_leftovers(text: str) -> list[str]:
    """HTML tags and entities of ``text`` outside Markdown code and table rows."""
    found = [m for p in (_HTML_TAG, _HTML_ENTITY) for m in p.finditer(text)]
    if not found:
        return []
    spans = code_spans(text)
    shown: list[str] = []
    for match in sorted(found, key=lambda m: m.start()):
        start = match.start()
        if inside(start, spans) or text.startswith("|", text.rfind("\n", 0, start) + 1):
            continue
        shown.append(match.group(0))
    return shown


class HtmlLeftovers(RecordRule):
    """An assistant answer holds leftover HTML: tags such as ``<br />`` or ``<p>`` and entities
    such as ``&nbsp;``, ``&amp;`` or the doubly escaped ``&amp;lt;``.

    They come from text scraped from web pages or exported from a rich-text field without
    being converted; the model learns to write markup into plain answers. Answers that are
    markup by design are not reported: code (fenced, inline or unfenced), answers that start
    with a tag (an HTML table, a page), ``<br>`` in Markdown table rows, and every answer to a
    prompt that mentions HTML, XML, JSX, CSS, web pages or similar.

    Fix: convert when exporting: ``html.unescape`` the entities and strip or translate the tags
    (``<br>`` to a newline); where HTML is the intended output, ignore ``Q011``.
    """

    code = "Q011"
    name = "html-leftovers"
    severity = Severity.WARNING
    summary = "Assistant answer holds leftover HTML tags or entities"

    triggers = _HTML

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        view = ctx.view_of(example)
        for turn in view.trained_answers:
            text = turn.text
            if "<" not in text and "&" not in text:
                continue
            found = _html_leftovers(text)
            if (
                not found
                or text.lstrip().startswith("<")
                or _structured_lines(text)
                or _MARKUP_ASKED.search(prompt_text(view))
            ):
                continue
            shown = ", ".join(repr(f) for f in dict.fromkeys(found[:5]))
            findings.append(
                self.finding(
                    example,
                    f"assistant answer holds leftover HTML: {shown}",
                    at=turn,
                    hint="unescape entities (html.unescape) and strip or convert tags when "
                    "exporting, or ignore Q011 where HTML is intended",
                )
            )
        return findings


#: The letter rows of a QWERTY keyboard: four keys in a row along one of them is mashing.
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_MASH_RUN = 4
_MASH_KEYS = frozenset(
    row[i : i + _MASH_RUN]
    for row in (*_KEY_ROWS, *(r[::-1] for r in _KEY_ROWS))
    for i in range(len(row) - _MASH_RUN + 1)
)
_JUNK_MAX_CHARS = 30
#: Whole answers that stand in for one: compared as written (``Na`` is sodium's symbol).
_STAND_INS = frozenset({"test", "Test", "TEST", "testing", "Testing", "NA", "na", "N.A.", "blah"})
#: A prompt that may want a number for an answer: any digit, a question mark, or (English)
#: words about a quantity, a date, a code, a label or arithmetic.
_ASKS_NUMBER = re.compile(
    r"\d|\b(?:how (?:many|much|old|long|far|tall|big|often|large|high|fast|heavy|deep|wide)"
    r"|when|years?|numbers?|numeric|count|calculate|compute|solve|sum|total|rate|rating|ratings"
    r"|score|percent|percentage|value|digits?|amount|quantity|estimate|age|price|cost"
    r"|population|id|code|pin|zip|phone|temperature|convert|math|equation|result|stars?"
    r"|level|rank|grade|size|weight|height|length|distance|time|date|day|month|label|frequency"
    r"|index|position|occurrences?|times|add|subtract|deduct|multiply|divide|difference|median"
    r"|mean|average|ratio|minus|plus|product|quotient|remainder|factorial|square|root|power"
    r"|round)\b|\?",
    re.I,
)


def junk(answer: str, prompt: str) -> str | None:
    """What kind of junk ``answer`` is (``prompt``: what it replies to), or ``None``."""
    text = answer.strip()
    if not text or len(text) > _JUNK_MAX_CHARS or text.lower() in prompt.lower():
        return None
    if len(text) >= 3 and text.count(text[0]) == len(text) and text != "...":
        return "one character repeated"
    if text in _STAND_INS:
        return "a stand-in word"
    if text.isdigit() and text.isascii():
        if not prompt or not prompt.isascii() or _ASKS_NUMBER.search(prompt):
            return None
        return "only digits, to a prompt that asks for no number"
    # Lower case only: QWERTY and ASDF in capitals are names (a layout, a build tool).
    if text.isalpha() and text.isascii() and text.islower():
        windows = (text[i : i + _MASH_RUN] for i in range(len(text) - _MASH_RUN + 1))
        if not _MASH_KEYS.isdisjoint(windows):
            return "keyboard mash"
    return None


class JunkAnswer(RecordRule):
    """An assistant answer is junk rather than an answer: one character repeated (``aaaa``,
    ``!!!!``, ``............``), keyboard mash (``asdf``, ``qwerty``, ``sdfghj``), a stand-in
    word (``test``, ``NA``), or only digits to a prompt that asks for no number.

    Such answers come from people testing a data-entry form or filling required fields, and
    from generators that failed; training on them teaches the model to answer with noise.
    An answer that the prompt itself contains is the requested output ("answer NA if
    unknown", a listed option) and is not reported; digits are reported only where the prompt
    is English, holds no digit and asks about no quantity, date, code, rating or label (a
    classification or maths set whose answers are numbers stays quiet). Fixed placeholders
    (``<nooutput>``, ``N/A``, ``TODO``, ``...``) are ``Q005``'s.

    Fix: write the real answer, or drop the example.
    """

    code = "Q012"
    name = "junk-answer"
    severity = Severity.WARNING
    summary = "Assistant answer is junk (mash, a repeated character, a stand-in word)"

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        view = ctx.view_of(example)
        for turn in view.trained_answers:
            text = turn.text
            if len(text) > 2 * _JUNK_MAX_CHARS:
                continue
            kind = junk(text, prompt_text(view))
            if kind:
                findings.append(
                    self.finding(
                        example,
                        f"assistant answer is {kind}: {_excerpt(text, 0, len(text), 30)!r}",
                        at=turn,
                        hint="write the real answer or drop the example",
                    )
                )
        return findings


RULES: tuple[type[RecordRule], ...] = (
    AiDisclaimer,
    Refusal,
    UnfilledTemplateSlot,
    FillInPlaceholder,
    PlaceholderAnswer,
    TruncatedAnswer,
    RepetitiveAnswer,
    Mojibake,
    ControlCharacters,
    AnswerRepeatsPrompt,
    HtmlLeftovers,
    JunkAnswer,
)
