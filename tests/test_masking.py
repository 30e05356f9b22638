"""inspector.cassettes.masking.masked_url: the values of secret query parameters masked, the
rest of the URL kept as written. Pure: no database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.cassettes.masking import MASK, SECRET_PARAMETERS, masked_url

PROPERTY = settings(derandomize=True, database=None, max_examples=300, deadline=None)
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{GEMINI}?key=AIzaSyA-secret", f"{GEMINI}?key={MASK}"),
        (f"{GEMINI}?alt=sse&key=AIzaSyA-secret", f"{GEMINI}?alt=sse&key={MASK}"),
        (f"{GEMINI}?key=AIzaSyA-secret&alt=sse", f"{GEMINI}?key={MASK}&alt=sse"),
        (
            "https://h/p?KEY=s&Api_Key=s&APIKEY=s",
            f"https://h/p?KEY={MASK}&Api_Key={MASK}&APIKEY={MASK}",
        ),
        ("https://h/p?access_token=s&token=s", f"https://h/p?access_token={MASK}&token={MASK}"),
        ("https://blob/c/f?sv=2024&sig=abc%2Bdef%3D", f"https://blob/c/f?sv=2024&sig={MASK}"),
        (
            "https://h/p?Signature=s&X-Goog-Api-Key=s",
            f"https://h/p?Signature={MASK}&X-Goog-Api-Key={MASK}",
        ),
        # A name is compared decoded, as a server reads it.
        ("https://h/p?%6Bey=s&api%5Fkey=s", f"https://h/p?%6Bey={MASK}&api%5Fkey={MASK}"),
        # All of a value, `=` in it included.
        ("https://h/p?key=a=b==", f"https://h/p?key={MASK}"),
        # OAuth's implicit flow returns the token in the fragment.
        ("https://h/cb#access_token=s&state=1", f"https://h/cb#access_token={MASK}&state=1"),
        ("https://h/p?key=s#token=t", f"https://h/p?key={MASK}#token={MASK}"),
        # Not a URL urlsplit accepts: masked all the same.
        ("http://[::1:bad/v1?key=s", f"http://[::1:bad/v1?key={MASK}"),
        ("/v1/models?key=s", f"/v1/models?key={MASK}"),
    ],
)
def test_it_masks_the_values_of_secret_parameters(url, expected):
    assert masked_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        GEMINI,
        "https://api.openai.com/v1/chat/completions",
        # Names that only contain a secret one, and a secret name as a value.
        "https://h/p?monkey=1&keys=2&tokens=3&signature_version=4&sort=key&q=token%3Dx",
        # Nothing to mask: no value, or an empty one.
        "https://h/p?key&token=&sig",
        # Kept byte for byte: encoding, order, repeated and empty fields, a fragment.
        "https://h/p?b=%20x+y&a=1&a=2&&=v#section-2",
        "data:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_it_keeps_a_url_without_secrets_as_written(url):
    assert masked_url(url) == url


def test_it_masks_every_name_it_lists_and_only_their_values():
    names = sorted(SECRET_PARAMETERS)
    url = "https://h/p?" + "&".join(f"{name}=v{i}" for i, name in enumerate(names))
    assert masked_url(url) == "https://h/p?" + "&".join(f"{name}={MASK}" for name in names)
    assert names == [
        "access_token", "api_key", "apikey", "key", "sig", "signature", "token", "x-goog-api-key",
    ]  # fmt: skip


@PROPERTY
@given(
    st.text(),
    st.lists(
        st.tuples(
            st.sampled_from([*SECRET_PARAMETERS, "alt", "q", "Key", "TOKEN", "%6Bey"]),
            st.text(st.characters(exclude_characters="&#"), min_size=1),
        ),
        max_size=5,
    ),
)
def test_it_never_fails_and_no_secret_value_is_left(prefix, fields):
    """Any text is taken; masking twice is masking once; a secret parameter keeps no value."""
    base = prefix.replace("?", "").replace("#", "")
    url = base + "?" + "&".join(f"{name}={value}" for name, value in fields)
    once = masked_url(url)
    assert masked_url(once) == once
    assert once.startswith(base + "?")
    for field in once.split("?", 1)[1].split("&"):
        name, _, value = field.partition("=")
        if name.lower().replace("%6bey", "key") in SECRET_PARAMETERS:
            assert value == MASK


@PROPERTY
@given(st.text())
def test_it_takes_any_text(text):
    assert isinstance(masked_url(text), str)
