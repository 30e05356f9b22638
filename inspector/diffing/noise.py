"""What differs between two recordings of one request without meaning anything: the
recorder's normalized ids (`rec-<12 hex>`), clocks (`created`, `created_at`, `*_duration`) and
per-response values (`obfuscation`, `system_fingerprint`). Pure: no Django."""

from __future__ import annotations

import re
from typing import Any

from inspector.diffing.requests import Difference

NOISE_KEYS = frozenset({"created", "created_at", "obfuscation", "system_fingerprint"})
REC_ID = re.compile(r"rec-[0-9a-f]{12}")
PATH_KEY = re.compile(r"(?:^|\.)([^.\[\]]+)(?:\[\d+\])*$")


def is_noise_key(key: Any) -> bool:
    return isinstance(key, str) and (key in NOISE_KEYS or key.endswith("_duration"))


def denoised(value: Any) -> Any:
    """`value` without noise keys, its `rec-` ids all alike."""
    if isinstance(value, dict):
        return {k: denoised(v) for k, v in value.items() if not is_noise_key(k)}
    if isinstance(value, list):
        return [denoised(item) for item in value]
    if isinstance(value, str) and "rec-" in value:
        return REC_ID.sub("rec-…", value)
    return value


def is_noise(difference: Difference) -> bool:
    """A difference at a noise key (`choices[0].created`), or one that is only `rec-` ids."""
    match = PATH_KEY.search(difference.path)
    if match and is_noise_key(match[1]):
        return True
    if difference.kind != "changed":
        return False
    return denoised(difference.a) == denoised(difference.b)
