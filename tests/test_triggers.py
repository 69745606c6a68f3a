"""The prefilter's one-pass trigger scan (ftprep.validate.prefilter and its C tables) gives
the same facts as plain ``in`` tests on each text, and never fewer."""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys
from pathlib import Path

import needs
import pytest
from backends import BUILT, TRIGGERS, backend, every_rule
from hypothesis import example, given
from hypothesis import strategies as st

from ftprep.load import load_path
from ftprep.rules.base import Triggers
from ftprep.validate.prefilter import LOWER_TO_ASCII, Match, Prefilter, build_tables
from ftprep.view import ExampleView

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
_ZEROS = bytes.maketrans(b"0123456789", b"0" * 10)
#: The compiled triggers of every rule (the bits are the same in every prefilter of them).
_TRIGGERS = Prefilter(every_rule()).triggers


def text_facts(texts: list[str], prefilter: Prefilter | None = None) -> int:
    """The facts of ``texts`` by ``prefilter`` (by default a prefilter of every rule, on the
    current backend)."""
    return (prefilter or Prefilter(every_rule())).scan(texts)


def all_facts() -> int:
    return sum(t.bit for t in _TRIGGERS)


def reference_facts(texts: list[str]) -> int:
    """The facts by one ``in`` test per substring and text."""
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    lowered = [t.lower() for t in texts]
    shapes = [e.translate(_ZEROS) for e in encoded]
    digits = sum(len(e) - len(e.translate(None, b"0123456789")) for e in encoded)
    facts = 0
    for trigger in _TRIGGERS:
        if trigger.match is Match.FOLDED:
            hit = any(s in t for s in trigger.substrings for t in lowered)
        elif trigger.match is Match.SHAPE:
            hit = any(s.encode() in e for s in trigger.substrings for e in shapes)
        else:
            hit = any(s in t for s in trigger.substrings for t in texts)
        hit = hit or any(b in trigger.any_byte for e in encoded for b in e)
        if hit and digits >= trigger.min_digits:
            facts |= trigger.bit
    return facts


def _folded_bits() -> int:
    return sum(t.bit for t in _TRIGGERS if t.match is Match.FOLDED)


def test_every_rule_family_declares_its_triggers() -> None:
    names = {t.name for t in _TRIGGERS}
    assert {"ai-disclaimer", "refusal", "api-key", "phone-shape", "card-shape"} <= names
    assert {"template-slot", "non-ascii", "control", "at-sign"} <= names
    assert all_facts() == sum(t.bit for t in _TRIGGERS)


@pytest.mark.parametrize("backend_name", BUILT)
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("As an AI language model, I CANNOT do that.", {"ai-disclaimer", "refusal"}),
        ("I can\N{RIGHT SINGLE QUOTATION MARK}t help", {"refusal", "non-ascii"}),
        ("key sk-proj-abc and AKIA1234", {"api-key"}),
        ("akia is not a key, SK- is not either", set()),
        ("-----BEGIN RSA PRIVATE KEY-----", {"private-key"}),
        ("Hello {{name}}, ${HOME}", {"template-slot", "opening-bracket"}),
        ("Hello ${HOME}", {"template-slot", "opening-bracket"}),
        ("```py\n[x] <b>", {"fence", "opening-bracket", "markup", "html"}),
        ("call +44 20 7946 0958", {"phone-shape"}),
        ("call 415-867", set()),  # the shape, but fewer than 8 digits in all
        ("4242 4242 4242 4242", {"card-shape", "iban-shape"}),
        ("caf\N{LATIN SMALL LETTER E WITH ACUTE} a@b", {"non-ascii", "at-sign"}),
        ("bell \x07", {"control"}),
        ("plain text, nothing to see", set()),
    ],
)
def test_facts_of_typical_texts(backend_name: str, text: str, names: set[str]) -> None:
    with backend(backend_name):
        facts = text_facts([text])
        assert {t.name for t in _TRIGGERS if facts & t.bit} == names
        assert facts == reference_facts([text])


@pytest.mark.parametrize("backend_name", BUILT)
def test_digits_add_up_over_the_texts_of_an_example(backend_name: str) -> None:
    with backend(backend_name):
        phone = next(t.bit for t in _TRIGGERS if t.name == "phone-shape")
        assert not text_facts(["call 415-8675"]) & phone  # 7 digits
        assert text_facts(["call 415-8675", "room 12"]) & phone


_PIECES = st.sampled_from(
    sorted(
        {s for t in _TRIGGERS for s in t.substrings}
        | {s.upper() for t in _TRIGGERS for s in t.substrings}
        | {"0", "7", "-", ".", "+", " ", "\n", "a", "I", "\x7f", "\x85", "\N{EM DASH}"}
        | {"s", "k", "AKI", "-----", "{", "$", "@", "\N{KELVIN SIGN}"}
    )
)


@pytest.mark.parametrize("backend_name", BUILT)
@given(st.lists(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=8).map("".join)))
@example(["can\N{RIGHT SINGLE QUOTATION MARK}t", "sk-"])
@example(["AN A\N{LATIN CAPITAL LETTER I WITH DOT ABOVE}"])
@example(["\ud800 sk-"])
def test_scan_never_misses_a_trigger(backend_name: str, texts: list[str]) -> None:
    with backend(backend_name):
        assert_scan_is_right(texts)


def assert_scan_is_right(texts: list[str], prefilter: Prefilter | None = None) -> int:
    """The scan's facts are the reference's, or more where the design says so."""
    facts = text_facts(texts, prefilter)
    expected = reference_facts(texts)
    assert facts & expected == expected
    encodable = all(not any("\ud800" <= c <= "\udfff" for c in t) for t in texts)
    special = any(c in t for c in LOWER_TO_ASCII for t in texts)
    if not encodable:
        assert facts == all_facts()
    elif special:
        assert facts & ~_folded_bits() == expected & ~_folded_bits()
    else:
        assert facts == expected
    return facts


@pytest.mark.parametrize("backend_name", BUILT)
def test_scan_agrees_with_plain_tests_on_real_files(backend_name: str) -> None:
    with backend(backend_name):
        prefilter = Prefilter(every_rule())
        files = sorted(REALDATA.rglob("*.json*"))
        assert len(files) >= 10
        seen = 0
        ruled_out = 0
        for path in files:
            for item in itertools.islice(load_path(path), 1500):
                if item.example is None:
                    continue
                entries = ExampleView.of(item.example).entries
                texts = [m.content for _f, _i, m in entries if isinstance(m.content, str)]
                facts = assert_scan_is_right(texts, prefilter)
                seen += 1
                ruled_out += not facts & _folded_bits()
        # Guard against a vacuous scan: most real examples hold no refusal or disclaimer trigger.
        assert seen > 5_000
        assert ruled_out > seen // 2


def test_lower_to_ascii_is_every_character_the_folded_scan_must_know() -> None:
    # The scan lower-cases ASCII letters only. It is exact for ``text.lower()`` if no other
    # character lowers to something holding an ASCII letter, or a trigger's own character.
    trigger_chars = {
        c for t in _TRIGGERS if t.match is Match.FOLDED for s in t.substrings for c in s
    }
    special = []
    for point in range(0x80, sys.maxunicode + 1):
        char = chr(point)
        lowered = char.lower()
        if lowered != char and any(c.isascii() or c in trigger_chars for c in lowered):
            special.append(char)
    assert tuple(special) == LOWER_TO_ASCII


def test_triggers_must_suit_their_match() -> None:
    for bad in (
        {"folded": ("Sorry",)},
        {"folded": ("4chan",)},
        {"folded": ("\N{LATIN SMALL LETTER E WITH ACUTE}",)},
        {"folded": ("\ud800",)},
        {"exact": ("",)},
        {"exact": ("a\nb",)},
        {"shapes": ("00x00",)},
        {"any_byte": b"@", "min_digits": -1},
    ):
        with pytest.raises(ValueError, match="trigger 'bad'"):
            Triggers("bad", **bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one kind"):
        Triggers("bad", exact=("a",), folded=("b",))


def test_malformed_tables_are_refused() -> None:
    _triggers = TRIGGERS
    if _triggers is None:
        needs.missing("the C extensions are not built")
    good = build_tables(_TRIGGERS)
    assert _triggers.text_facts(_triggers.compile(good), ["sk-"]) == text_facts(["sk-"])
    for bad in (b"", good[:100], good[:-200], b"\xff" * len(good)):
        with pytest.raises(ValueError, match="malformed"):
            _triggers.compile(bad)
    tables = _triggers.compile(good)
    with pytest.raises(TypeError):
        _triggers.text_facts(tables, ["ok", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError):  # every item is checked, unscannable ones too
        _triggers.text_facts(tables, ["\ud800", 3])  # type: ignore[list-item]
    # Table sizes that would wrap a 32-bit offset are refused, not trusted.
    huge = bytearray(good)
    n_states = int.from_bytes(good[:4], sys.byteorder)
    verify_end = (5 + 64 + 256 + 2 * n_states) * 4
    huge[verify_end : verify_end + 4] = (0xFFFFFFFF).to_bytes(4, sys.byteorder)
    with pytest.raises(ValueError, match="malformed"):
        _triggers.compile(bytes(huge))


def test_triggers_unpickled_in_another_process_hash_as_there() -> None:
    # Triggers keep their hash; string hashes differ between processes (PYTHONHASHSEED), so an
    # unpickled trigger must hash as one built in the receiving process.
    trigger = Triggers("api-key", exact=("sk-", "AKIA"), tool_arguments=True)
    script = (
        "import pickle, sys\n"
        "from ftprep.rules.base import Triggers\n"
        "t = pickle.loads(sys.stdin.buffer.read())\n"
        "fresh = Triggers('api-key', exact=('sk-', 'AKIA'), tool_arguments=True)\n"
        "print(hash(t) == hash(fresh) and t in {fresh})\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script],
            input=pickle.dumps(trigger),
            capture_output=True,
            env=env,
            check=True,
        ).stdout
        assert out.strip() == b"True"
