"""The text content keys hash (``_keys.c``)."""

def joined(
    fields: list[str], roles: list[str], texts: list[str], case_sensitive: bool, /
) -> tuple[bytes, list[int]]:
    """Every turn as ``role:text`` (``field/role:text`` outside ``messages``) joined by
    U+001F, as UTF-8, each text normalised as :mod:`ftprep.dedup.keys` describes;
    and per turn the byte offsets where its text starts and ends (where the turn ends)."""
