"""Reading data files the way a trainer is configured to read them (``trainer-config``).

A LLaMA-Factory ``dataset_info.json`` names, per dataset, its file (``file_name``), its
``formatting`` (``alpaca`` or ``sharegpt``), the ``columns`` that hold each part and, for
ShareGPT, the ``tags`` of roles and keys; an Axolotl configuration's ``datasets:`` list gives,
per file (``path``), its ``type`` and, for ``chat_template``, the messages field, the
message keys and the role names. :func:`read_trainer_config` turns either into a
:class:`TrainerMapping` per data file; :func:`remapped` rewrites each record of such a file
into the shape ftprep reads (ShareGPT, Alpaca or OpenAI chat) or, when the row does not fit
the mapping, into a ``trainer-mapping`` problem (L011) that says why, as the trainer would
meet it:

- LLaMA-Factory (``src/llamafactory/data/converter.py``): a ShareGPT turn whose role is not
  the expected tag at its position (user or observation, then assistant or function call)
  and a conversation with an odd number of turns are skipped ("Invalid role tag", "Invalid
  message count"); an Alpaca row whose response is not a string has no answer and is dropped
  ("Dropped invalid example"); a missing column or key stops the run with a ``KeyError``.
- Axolotl (``chat_template`` strategy): a row without the messages field, a message without
  the mapped role or content key, or a role the ``roles`` mapping does not name cannot be
  tokenized.

Files the configuration does not name are read by shape detection, as without it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ftprep.config import Config, ConfigError
from ftprep.dialects import DialectOptions
from ftprep.findings import Location, Problem
from ftprep.load import DialectDetector, Loaded, load_path, load_raw
from ftprep.load.containers import RawRecord, read_records

KIND = "trainer-mapping"

#: LLaMA-Factory's default columns and tags (``DatasetAttr``).
LF_COLUMNS = {
    "alpaca": {"prompt": "instruction", "query": "input", "response": "output"},
    "sharegpt": {"messages": "conversations"},
}
LF_TAGS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
#: The ShareGPT role names ftprep's ShareGPT dialect reads, by LLaMA-Factory tag.
_SHAREGPT_ROLE = {
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
#: The same for entries whose turns are OpenAI-style (``role`` / ``content`` keys), which
#: ftprep reads as OpenAI chat, as it detects them.
_OPENAI_ROLE = {
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "tool",
    "function_tag": "assistant",
    "system_tag": "system",
}


class MappingError(ValueError):
    """A row does not fit the mapping; the message says why."""


@dataclass(frozen=True, slots=True)
class TrainerMapping:
    """How one data file is read: the trainer's entry, and the shape it is rewritten to."""

    trainer: str
    entry: str
    """The dataset's name (LLaMA-Factory) or its ``path`` (Axolotl), for messages."""
    dialect: str
    """The ftprep dialect the rewritten records are read with."""
    settings: Mapping[str, Any] = field(default_factory=dict)

    def convert(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """``record`` rewritten for :attr:`dialect`; raises :class:`MappingError`."""
        if self.trainer == "axolotl":
            if self.dialect == "alpaca":
                return _axolotl_alpaca(record)
            return _axolotl_chat(record, self.settings)
        if self.dialect == "alpaca":
            return _lf_alpaca(record, self.settings)
        return _lf_sharegpt(record, self.settings)  # ShareGPT turns, or OpenAI-style ones


def _column(record: Mapping[str, Any], column: str, part: str) -> Any:
    if column not in record:
        raise MappingError(f"the row has no column {column!r} (the {part} column)")
    return record[column]


def _lf_alpaca(record: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    columns: dict[str, str] = {**LF_COLUMNS["alpaca"], **settings["columns"]}
    used = set(columns.values())
    out = {key: value for key, value in record.items() if key not in used}
    out["instruction"] = record.get(columns["prompt"]) or ""
    out["input"] = record.get(columns["query"]) or ""
    for part in ("system", "history", "kto_tag"):
        if part in columns and record.get(columns[part]) is not None:
            out[part] = record[columns[part]]
    if settings.get("ranking"):
        for part in ("chosen", "rejected"):
            value = _column(record, columns.get(part, part), part)
            if not isinstance(value, str):
                raise MappingError(
                    f"the {part} column {columns.get(part, part)!r} is not a string: "
                    "LLaMA-Factory finds no answer and drops the row"
                )
            out[part] = value
        return out
    response = _column(record, columns["response"], "response")
    if not isinstance(response, str):
        raise MappingError(
            f"the response column {columns['response']!r} is not a string: LLaMA-Factory "
            "finds no answer and drops the row"
        )
    out["output"] = response
    return out


def _lf_sharegpt(record: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    columns: dict[str, str] = {**LF_COLUMNS["sharegpt"], **settings["columns"]}
    tags: dict[str, str] = {**LF_TAGS, **settings["tags"]}
    role_key, content_key = tags["role_tag"], tags["content_tag"]
    openai = settings.get("shape") == "openai"
    names = _OPENAI_ROLE if openai else _SHAREGPT_ROLE
    by_tag = {tags[name]: role for name, role in names.items() if tags.get(name)}
    turns = _column(record, columns["messages"], "messages")
    if not isinstance(turns, list):
        raise MappingError(f"the messages column {columns['messages']!r} is not a list")

    def read(turn: Any, number: int) -> dict[str, Any]:
        if not isinstance(turn, dict) or role_key not in turn or content_key not in turn:
            missing = role_key if isinstance(turn, dict) and role_key not in turn else content_key
            raise MappingError(
                f"turn {number} has no {missing!r} key (the dataset's "
                f"{'role_tag' if missing == role_key else 'content_tag'}): LLaMA-Factory "
                "stops with a KeyError"
            )
        keys = ("role", "content") if openai else ("from", "value")
        return {
            **{k: v for k, v in turn.items() if k not in (role_key, content_key)},
            keys[0]: by_tag.get(turn[role_key], turn[role_key]),
            keys[1]: turn[content_key],
        }

    accepted = (
        (tags["user_tag"], tags["observation_tag"]),
        (tags["assistant_tag"], tags["function_tag"]),
    )
    used = set(columns.values())
    out: dict[str, Any] = {key: value for key, value in record.items() if key not in used}
    conversation = [read(turn, i + 1) for i, turn in enumerate(turns)]
    start = 0
    if turns and tags.get("system_tag") and turns[0].get(role_key) == tags["system_tag"]:
        start = 1
    elif "system" in columns and record.get(columns["system"]):
        out["system"] = record[columns["system"]]
    for position, turn in enumerate(turns[start:]):
        role = turn[role_key]
        expected = accepted[position % 2]
        if role not in expected:
            raise MappingError(
                f"turn {start + position + 1} has the role {role!r} where LLaMA-Factory "
                f"expects {' or '.join(repr(t) for t in expected)} (the dataset's tags): it "
                "skips the row (Invalid role tag)"
            )
    count = len(turns) - start
    ranking = bool(settings.get("ranking"))
    if (count % 2 == 1) != ranking:
        wanted = "odd (the prompt only)" if ranking else "even (user and assistant pairs)"
        raise MappingError(
            f"{count} turns after the system turn, not an {wanted} number: LLaMA-Factory "
            "skips the row (Invalid message count)"
        )
    out["messages" if openai else "conversations"] = conversation
    if "tools" in columns and record.get(columns["tools"]) is not None:
        out["tools"] = record[columns["tools"]]
    if ranking:
        for part in ("chosen", "rejected"):
            turn = _column(record, columns.get(part, part), part)
            answer = read(turn, 0)
            if turn.get(role_key) not in accepted[1]:
                raise MappingError(
                    f"the {part} turn has the role {turn.get(role_key)!r} where LLaMA-Factory "
                    f"expects {tags['assistant_tag']!r}: it skips the row (Invalid role tag)"
                )
            out[part] = answer
    if "kto_tag" in columns and columns["kto_tag"] in record:
        out["label" if openai else "kto_tag"] = record[columns["kto_tag"]]
    return out


def _axolotl_chat(record: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    field_messages = settings.get("field_messages", "messages")
    mappings = settings.get("message_property_mappings") or {}
    role_key = mappings.get("role", settings.get("message_field_role", "role"))
    content_key = mappings.get("content", settings.get("message_field_content", "content"))
    roles: dict[str, str] = {}
    for role, names in (settings.get("roles") or {}).items():
        for name in names if isinstance(names, list) else [names]:
            roles[str(name)] = str(role)
    turns = record.get(field_messages)
    if not isinstance(turns, list):
        state = "has no" if field_messages not in record else "has a non-list"
        raise MappingError(f"the row {state} {field_messages!r} field (field_messages)")
    messages = []
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            raise MappingError(f"message {number} is not an object")
        for key, setting in ((role_key, "role"), (content_key, "content")):
            if key not in turn:
                raise MappingError(
                    f"message {number} has no {key!r} key (the {setting} key of "
                    "message_property_mappings)"
                )
        name = turn[role_key]
        role = roles.get(str(name), name) if roles else name
        if roles and str(name) not in roles and name not in ("system", "user", "assistant", "tool"):
            raise MappingError(
                f"message {number} has the role {name!r}, which the roles mapping does not name"
            )
        extra = {k: v for k, v in turn.items() if k not in (role_key, content_key)}
        messages.append({**extra, "role": role, "content": turn[content_key]})
    out = {k: v for k, v in record.items() if k != field_messages}
    out["messages"] = messages
    return out


def _axolotl_alpaca(record: Mapping[str, Any]) -> dict[str, Any]:
    for column in ("instruction", "output"):
        if not isinstance(record.get(column), str):
            state = "no" if column not in record else "a non-text"
            raise MappingError(f"the row has {state} {column!r} column (Axolotl's alpaca type)")
    return dict(record)


@dataclass(slots=True)
class TrainerConfig:
    """The mappings of a trainer configuration, by resolved data file path."""

    source: str
    trainer: str
    """The trainer the configuration is for (``axolotl`` or ``llamafactory``)."""
    mappings: dict[str, TrainerMapping] = field(default_factory=dict)
    sequence_len: int | None = None
    """The training sequence length the configuration sets (Axolotl's ``sequence_len``)."""

    def for_path(self, path: str) -> TrainerMapping | None:
        """The mapping of data file ``path``: the entry naming it, else the one entry whose
        file has its name (a copy of the data elsewhere), else ``None``."""
        try:
            key = str(Path(path).resolve())
        except OSError:
            return None
        found = self.mappings.get(key)
        if found is None:
            named = [m for k, m in self.mappings.items() if Path(k).name == Path(key).name]
            found = named[0] if len(named) == 1 else None
        return found


def read_trainer_config(path: str) -> TrainerConfig:
    """Read a LLaMA-Factory ``dataset_info.json`` or an Axolotl YAML configuration; raises
    :class:`~ftprep.config.ConfigError` for a file that is neither."""
    location = Path(path)
    try:
        text = location.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read the trainer configuration {path}: {err}") from None
    if location.suffix in (".yml", ".yaml"):
        result = TrainerConfig(path, "axolotl")
        _read_axolotl(text, location, result)
    else:
        result = TrainerConfig(path, "llamafactory")
        _read_llamafactory(text, location, result)
    return result


def _read_llamafactory(text: str, location: Path, result: TrainerConfig) -> None:
    try:
        entries = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{location}: not JSON ({err})") from None
    if not isinstance(entries, dict):
        raise ConfigError(f"{location}: expected a dataset_info.json object of datasets")
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str):
            continue  # hub datasets and scripts: no local file to read
        formatting = entry.get("formatting", "alpaca")
        if formatting not in LF_COLUMNS:
            raise ConfigError(f"{location}: dataset {name!r} has an unknown formatting")
        tags = {**LF_TAGS, **(entry.get("tags") or {})}
        ranking = bool(entry.get("ranking"))
        openai = formatting == "sharegpt" and not ranking
        openai = openai and (tags["role_tag"], tags["content_tag"]) == ("role", "content")
        settings = {
            "columns": dict(entry.get("columns") or {}),
            "tags": tags,
            "ranking": ranking,
            "shape": "openai" if openai else formatting,
        }
        file = (location.parent / entry["file_name"]).resolve()
        dialect = "openai" if openai else formatting
        result.mappings[str(file)] = TrainerMapping("llamafactory", name, dialect, settings)


def _read_axolotl(text: str, location: Path, result: TrainerConfig) -> None:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(
            "reading an Axolotl configuration needs PyYAML: pip install pyyaml"
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{location}: not YAML ({err})") from None
    datasets = document.get("datasets") if isinstance(document, dict) else None
    if not isinstance(datasets, list):
        raise ConfigError(f"{location}: no datasets: list")
    window = document.get("sequence_len")
    if isinstance(window, int) and not isinstance(window, bool) and window > 0:
        result.sequence_len = window
    for dataset in datasets:
        if not isinstance(dataset, dict) or not isinstance(dataset.get("path"), str):
            continue
        kind = dataset.get("type", "chat_template")
        file = (location.parent / dataset["path"]).resolve()
        if kind == "chat_template":
            result.mappings[str(file)] = TrainerMapping(
                "axolotl", dataset["path"], "openai", dataset
            )
        elif kind == "alpaca":
            result.mappings[str(file)] = TrainerMapping("axolotl", dataset["path"], "alpaca")


def load_trainer_config(config: Config) -> TrainerConfig | None:
    """The configured trainer configuration (``trainer-config``), read, or ``None``."""
    if config.trainer_config is None:
        return None
    return read_trainer_config(config.trainer_config)


def with_trainer_settings(config: Config) -> Config:
    """``config`` with what the trainer configuration says and ``config`` does not: the
    trainer (``axolotl`` for an Axolotl YAML, ``llamafactory`` for a ``dataset_info.json``)
    and ``max-tokens``, the training window (Axolotl's ``sequence_len``; LLaMA-Factory's
    ``cutoff_len`` is in its training arguments, not in ``dataset_info.json``)."""
    if config.trainer_config is None or (
        config.max_tokens is not None and config.trainer is not None
    ):
        return config
    read = read_trainer_config(config.trainer_config)
    window = config.max_tokens if config.max_tokens is not None else read.sequence_len
    return config.with_overrides(max_tokens=window, trainer=config.trainer or read.trainer)


def remapped(raws: Iterable[RawRecord], mapping: TrainerMapping) -> Iterator[RawRecord]:
    """``raws`` rewritten by ``mapping``; a row that does not fit becomes a ``trainer-mapping``
    problem with the reason."""
    for raw in raws:
        if raw.error is not None or not isinstance(raw.value, dict):
            yield raw
            continue
        try:
            value = mapping.convert(raw.value)
        except MappingError as err:
            where = Location(path=raw.path, line=raw.line, record=raw.index)
            problem = Problem(
                KIND,
                f"{err} ({mapping.trainer} entry {mapping.entry!r})",
                where,
                hint="fix the row, or the entry's columns and tags",
            )
            yield replace(raw, value=None, error=problem)
            continue
        yield replace(raw, value=value)


def load_configured(
    path: str, config: Config, trainer_config: TrainerConfig | None = None
) -> Iterator[Loaded]:
    """Every record of ``path`` loaded as the check reads it: through the mapping
    ``trainer_config`` has for the file (:func:`remapped`), else by shape detection
    (``config.dialect``)."""
    options = DialectOptions.from_config(config)
    mapping = trainer_config.for_path(path) if trainer_config else None
    if mapping is None:
        return load_path(
            path, dialect=config.dialect, options=options, max_line_bytes=config.max_line_bytes
        )
    raws = remapped(read_records(path, max_line_bytes=config.max_line_bytes), mapping)
    return load_raw(raws, DialectDetector(mapping.dialect, options))
