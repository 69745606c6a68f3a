"""L: problems found while reading the input, before any record is understood.

The loader reports these problems itself, by the rule's name; each class here is the rule's
documentation and metadata, and gives the problem its code and configured severity. A line
with a fatal problem (broken JSON, a shape no dialect reads) is not loaded and goes to rejects;
notes (a byte order mark, CRLF endings) ride along with a record that did load.
"""

from __future__ import annotations

from ftprep.findings import Severity
from ftprep.rules.base import LoadRule


class InvalidJson(LoadRule):
    """A line (or a JSON array element) is not valid JSON.

    Providers reject the whole upload for one broken line. Common causes: a record cut off
    when the file was truncated, two records on one line, a trailing comma, single quotes,
    or a literal newline inside a string. The column points at the first byte the parser
    could not accept.

    Fix: repair or delete the line; regenerate the file with a JSON library rather than by
    string concatenation.
    """

    code = "L001"
    name = "invalid-json"
    severity = Severity.ERROR
    summary = "Line is not valid JSON"


class InvalidUtf8(LoadRule):
    """A line contains bytes that are not valid UTF-8.

    JSON text must be UTF-8; providers and most training frameworks refuse anything else,
    and a silently mis-decoded file teaches the model mojibake.

    Fix: re-encode the source file as UTF-8 (``iconv -f cp1252 -t utf-8``) before converting.
    """

    code = "L002"
    name = "invalid-utf8"
    severity = Severity.ERROR
    summary = "Line is not valid UTF-8"


class Utf8Bom(LoadRule):
    """The file starts with a UTF-8 byte order mark (``EF BB BF``).

    Editors on Windows add it; strict JSONL readers (including some provider validators)
    then fail on the first record. ftprep strips it and loads the record.

    Fix: save the file as UTF-8 without BOM (``ftprep check --fix`` removes it).
    """

    code = "L003"
    name = "utf8-bom"
    severity = Severity.WARNING
    summary = "File starts with a UTF-8 byte order mark"
    fixable = True


class CrlfLineEndings(LoadRule):
    """Lines end with CRLF (``\\r\\n``) rather than LF.

    Accepted: JSON allows the carriage return as whitespace, and every reader ftprep knows
    handles it. Reported once per file, as information, so that diffs that flip line endings
    are not a surprise.

    Fix: nothing is needed; ``dos2unix`` converts the file if you want LF endings.
    """

    code = "L004"
    name = "crlf-line-endings"
    severity = Severity.INFO
    summary = "File uses CRLF line endings"
    once_per_file = True
    rejects_record = False


class BlankLine(LoadRule):
    """A line holds nothing but whitespace.

    JSON Lines has no blank lines; some readers stop or fail at the first one, others count
    it as an empty record. Nothing is loaded from it.

    Fix: delete the line (``ftprep check --fix`` does).
    """

    code = "L005"
    name = "blank-line"
    severity = Severity.WARNING
    summary = "Blank line in a JSON Lines file"
    fixable = True


class NotAnObject(LoadRule):
    """A line is valid JSON but not a JSON object (an array, a string, a number).

    Every fine-tuning format is one object per line; anything else is a packaging mistake,
    often a whole JSON array written on one line or a list of records nested one level deep.

    Fix: write one object per line; for a JSON array file, keep the array on the top level.
    """

    code = "L006"
    name = "not-an-object"
    severity = Severity.ERROR
    summary = "Record is valid JSON but not an object"


class UnknownShape(LoadRule):
    """A record matches none of the shapes ftprep reads (OpenAI chat, prompt/completion,
    DPO, Alpaca, ShareGPT, raw pairs, TRL, plain text).

    Usually a field is misspelled (``message`` for ``messages``) or the data is in a format
    that needs naming explicitly (raw pairs with custom field names).

    Fix: rename the fields, or name the dialect and its fields in the configuration.
    """

    code = "L007"
    name = "unknown-shape"
    severity = Severity.ERROR
    summary = "Record matches no known data shape"


class MixedShapes(LoadRule):
    """A record has a different shape from the rest of its file.

    A file that mixes shapes (some Alpaca records, some chat records) is usually two datasets
    concatenated by mistake; converters that guess per record then produce silently
    different prompts. ftprep detects the shape per file and reports records that differ
    rather than guessing.

    Fix: split the file by shape, or convert the odd records.
    """

    code = "L008"
    name = "mixed-shapes"
    severity = Severity.ERROR
    summary = "Record's shape differs from the rest of the file"


class LineTooLong(LoadRule):
    """A line is longer than the configured byte limit (``max-line-bytes``, 64 MiB default).

    Such lines are almost always corrupt (a binary blob, a whole file pasted into a field)
    and reading them would hold them in memory. The line is skipped unread.

    Fix: find out what the line holds; raise ``max-line-bytes`` if it is legitimate.
    """

    code = "L009"
    name = "line-too-long"
    severity = Severity.ERROR
    summary = "Line exceeds the configured size limit"


class UnreadableFile(LoadRule):
    """A file could not be read at all: missing, a directory, not permitted, or a corrupt
    gzip stream.

    Nothing of it can be checked or written: whatever records it holds are in no output.

    Fix: check the path; for gzip, re-compress the file.
    """

    code = "L010"
    name = "unreadable-file"
    severity = Severity.ERROR
    summary = "File could not be read"


class TrainerMappingMismatch(LoadRule):
    """A record does not fit the trainer's own mapping of its file (``trainer-config``: a
    LLaMA-Factory ``dataset_info.json`` entry, or an Axolotl ``datasets:`` entry).

    The trainer would skip the row (LLaMA-Factory's "Invalid role tag", "Invalid message
    count", "Dropped invalid example"), stop with a ``KeyError``, or, when every row is
    skipped, fail with "cannot find valid samples". The message names the column, key or
    role tag at fault and what the trainer expected.

    Fix: correct the row, or the entry's ``columns``, ``tags`` (LLaMA-Factory) or
    ``field_messages``, ``message_property_mappings``, ``roles`` (Axolotl).
    """

    code = "L011"
    name = "trainer-mapping"
    severity = Severity.ERROR
    summary = "Record does not fit the trainer's configured mapping"


class DuplicateKey(LoadRule):
    """One JSON object of a record holds the same key twice
    (``{"messages": A, "messages": B}``).

    JSON leaves the meaning open: most parsers (orjson, Python's, a provider's) keep the
    last value without a word, others the first or fail; either way one of the two versions
    is lost unseen, and the record trains on whichever the reader picked. Usually a
    concatenation bug or a hand edit. The record is not loaded. Keys repeated inside nested
    objects are found on records whose top-level keys also occur more than once in the line.

    Fix: keep one value per key.
    """

    code = "L012"
    name = "duplicate-key"
    severity = Severity.ERROR
    summary = "A JSON object holds the same key twice"


RULES: tuple[type[LoadRule], ...] = (
    InvalidJson,
    InvalidUtf8,
    Utf8Bom,
    CrlfLineEndings,
    BlankLine,
    NotAnObject,
    UnknownShape,
    MixedShapes,
    LineTooLong,
    UnreadableFile,
    TrainerMappingMismatch,
    DuplicateKey,
)
