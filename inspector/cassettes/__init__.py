"""VCR.py and pytest-recording cassettes, read into their HTTP interactions. Pure Python: knows
nothing of Django (the importer turns a Cassette into sources and exchanges)."""

from __future__ import annotations

from inspector.cassettes.documents import CassetteError
from inspector.cassettes.masking import MASK, SECRET_HEADERS
from inspector.cassettes.naming import TestId, test_of_path
from inspector.cassettes.reading import Cassette, Interaction, looks_like_cassette, read_cassette

__all__ = [
    "MASK",
    "SECRET_HEADERS",
    "Cassette",
    "CassetteError",
    "Interaction",
    "TestId",
    "looks_like_cassette",
    "read_cassette",
    "test_of_path",
]
