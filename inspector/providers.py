"""The provider a request went to, by a name a user recognises, from its URL. Pure Python.

A recording keeps its base URL apart (`scheme://host:port`): `http://0.0.0.0:11434` and
`http://localhost:11434` are one provider, ollama, at two addresses."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# RFC 3986, appendix B: splits any text.
URL_PARTS = re.compile(r"^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<netloc>[^/?#]*))?(?P<path>[^?#]*)")

# Hosts of hosted APIs, as a pattern of the whole host name (lower case), first match wins.
HOSTS = [
    (r"api\.openai\.com", "openai"),
    (r".+\.openai\.azure\.com|.+\.cognitiveservices\.azure\.com", "azure"),
    (r"api\.anthropic\.com", "anthropic"),
    (r"generativelanguage\.googleapis\.com", "gemini"),
    (r"(.+-)?aiplatform\.googleapis\.com", "vertexai"),
    (r"bedrock(-runtime|-mantle)?\..+\.(amazonaws\.com|api\.aws)", "bedrock"),
    (r".+\.ml\.cloud\.ibm\.com", "watsonx"),
    (r"api\.together\.(xyz|ai)", "together"),
    (r"api\.fireworks\.ai", "fireworks"),
    (r"api\.groq\.com", "groq"),
    (r"api\.mistral\.ai", "mistral"),
    (r"openrouter\.ai", "openrouter"),
    (r"integrate\.api\.nvidia\.com|ai\.api\.nvidia\.com", "nvidia"),
    (r"api\.cerebras\.ai", "cerebras"),
    (r"api\.deepseek\.com", "deepseek"),
    (r"api\.x\.ai", "xai"),
    (r"api\.sambanova\.ai", "sambanova"),
    (r"api\.cohere\.(ai|com)", "cohere"),
    (r"api\.perplexity\.ai", "perplexity"),
]
HOST_NAMES = [(re.compile(pattern), name) for pattern, name in HOSTS]
# Servers run beside the tests, known by their default port: Ollama's 11434 and vLLM's 8000
# (llama-stack's test suites run both there). Any other local port stays its address.
LOCAL_PORTS = {"11434": "ollama", "8000": "vllm"}
# URL schemes some clients record instead of an address (llama-stack's Vertex AI adapter).
SCHEMES = {"vertexai": "vertexai"}


def split_url(url: str) -> tuple[str, str, str]:
    """(scheme, netloc, path) of a URL. urlsplit refuses some that a recording may hold
    (`http://[::1:bad/`, `http://[x]/`, a full-width number sign U+FF03 as host): those are
    split by RFC 3986's pattern (appendix B), which takes any text."""
    try:
        parts = urlsplit(url)
    except ValueError:
        match = URL_PARTS.match(url)
        assert match is not None  # every group is optional
        return (match["scheme"] or "").lower(), match["netloc"] or "", match["path"]
    return parts.scheme, parts.netloc, parts.path


def base_url(url: str) -> str:
    """`scheme://host[:port]` of a URL, or `scheme:` when it has no host."""
    scheme, netloc, _ = split_url(url)
    if netloc:
        return f"{scheme}://{netloc}"
    return f"{scheme}:" if scheme else ""


def provider_of(url: str) -> str:
    """The provider's name: a hosted API by its host, a local server by its default port, else
    the host (and port) itself; "" for no URL."""
    scheme, netloc, _ = split_url(url)
    if scheme.lower() in SCHEMES:
        return SCHEMES[scheme.lower()]
    address = netloc.rpartition("@")[2].lower()  # without user:password@
    # `[::1]:8000` or `host:8000`: the port after the last colon outside the brackets.
    host, _, port = (
        address.rpartition(":") if ":" in address.rpartition("]")[2] else (address, "", "")
    )
    host = host.strip("[]").rstrip(".")
    for pattern, name in HOST_NAMES:
        if pattern.fullmatch(host):
            return name
    if port in LOCAL_PORTS:
        return LOCAL_PORTS[port]
    return address or scheme.lower()
