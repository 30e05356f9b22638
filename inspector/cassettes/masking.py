"""Headers of a cassette as `{name: [values]}`, with the values of the headers that carry
secrets masked. Recording projects often redact them (`<filtered>`), but not always: a cassette
can hold a live key, and no page or JSON may show it."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

MASK = "<masked>"
SECRET_HEADERS = frozenset(
    ("authorization", "x-api-key", "api-key", "cookie", "set-cookie", "x-goog-api-key")
)
Headers = dict[str, list[str]]


def headers_of(value: Any) -> Headers:
    """vcrpy writes `{name: [values]}`; older cassettes `{name: value}`. Anything else in a
    header is kept as its text; a value that is not a scalar is left out."""
    if not isinstance(value, dict):
        return {}
    headers: Headers = {}
    for name, values in value.items():
        items = values if isinstance(values, list) else [values]
        headers[str(name)] = [scalar_text(item) for item in items if is_scalar(item)]
    return headers


def masked(headers: Headers) -> Headers:
    return {
        name: [MASK for _ in values] if name.lower() in SECRET_HEADERS else values
        for name, values in headers.items()
    }


def header(headers: Headers, name: str) -> str:
    """The first value of a header, by name in any case; "" when absent."""
    for key, values in headers.items():
        if key.lower() == name and values:
            return values[0]
    return ""


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bytes | int | float)


def scalar_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


# Query parameters that carry a key (Gemini's `?key=AIza...`, signed URLs' `sig`/`signature`,
# OAuth's `access_token`), by name in any case.
SECRET_PARAMETERS = frozenset(
    ("key", "api_key", "apikey", "access_token", "token", "sig", "signature", "x-goog-api-key")
)


def masked_url(url: str) -> str:
    """The URL with the values of its secret query parameters masked, and of the fragment's
    (OAuth's implicit flow returns `#access_token=...`). Everything else is kept as written,
    unparsed: a recording's URL need not be one `urlsplit` accepts."""
    if "?" not in url and "#" not in url:
        return url
    rest, hash_mark, fragment = url.partition("#")
    head, question_mark, query = rest.partition("?")
    return (
        head
        + question_mark
        + masked_parameters(query)
        + hash_mark
        + (masked_parameters(fragment) if "=" in fragment else fragment)
    )


def masked_parameters(query: str) -> str:
    """`a=1&key=secret` as `a=1&key=<masked>`; a name is compared decoded (`%6Bey`, `KEY`)."""
    fields = query.split("&")
    for i, field in enumerate(fields):
        name, equals, value = field.partition("=")
        if value and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            fields[i] = name + equals + MASK
    return "&".join(fields)
