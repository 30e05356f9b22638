"""What a llama-stack recording's name and test id say: the request hash a file name
carries, and the parts of a pytest node id."""

from __future__ import annotations

import re
from typing import Any

from inspector.wire.types import TestId

# Paths whose hash leaves out the test id (model listings are shared between tests).
UNSCOPED_PATHS = frozenset({"/api/tags", "/v1/models", "/v1/openai/v1/models"})
MODELS_FILE = re.compile(r"^models-(?P<hash>[0-9a-f]{64})-(?P<digest>[0-9a-zA-Z]+)$")


def split_test_id(test_id: Any) -> TestId:
    """Split a pytest node id: `file::Class::function[params]`."""
    if not isinstance(test_id, str) or not test_id:
        return TestId(raw=test_id if isinstance(test_id, str) else None)
    head, params = test_id, ""
    bracket = test_id.find("[")
    if bracket != -1 and test_id.endswith("]"):
        head, params = test_id[:bracket], test_id[bracket + 1 : -1]
    pieces = head.split("::")
    file = pieces[0]
    function = pieces[-1] if len(pieces) > 1 else ""
    klass = "::".join(pieces[1:-1])
    return TestId(raw=test_id, file=file, klass=klass, function=function, params=params)


def name_hash(file_name: str) -> str:
    """The request hash a file name carries (`<hash>.json`, `models-<hash>-<digest>.json`)."""
    stem = file_name.removesuffix(".json")
    match = MODELS_FILE.match(stem)
    return match["hash"] if match else stem
