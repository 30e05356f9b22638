"""Providers by a name a user recognises, the base URL kept apart."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from inspector.importer import import_paths
from inspector.models import ImportRoot, Recording, Source
from inspector.providers import base_url, provider_of

MAX = 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("url", "provider", "base"),
    [
        ("http://0.0.0.0:11434/v1/chat/completions", "ollama", "http://0.0.0.0:11434"),
        ("http://localhost:11434/api/generate", "ollama", "http://localhost:11434"),
        ("http://localhost:8000/v1/completions", "vllm", "http://localhost:8000"),
        ("http://[::1]:11434/api/chat", "ollama", "http://[::1]:11434"),
        ("https://api.openai.com/v1/responses", "openai", "https://api.openai.com"),
        (
            "https://ogx-test.openai.azure.com/openai/v1/chat",
            "azure",
            "https://ogx-test.openai.azure.com",
        ),
        ("https://api.anthropic.com/v1/messages", "anthropic", "https://api.anthropic.com"),
        (
            "https://generativelanguage.googleapis.com/v1beta/x",
            "gemini",
            "https://generativelanguage.googleapis.com",
        ),
        (
            "https://us-central1-aiplatform.googleapis.com/v1/x",
            "vertexai",
            "https://us-central1-aiplatform.googleapis.com",
        ),
        ("vertexai:///generate_content_stream", "vertexai", "vertexai:"),
        (
            "https://bedrock-runtime.us-west-2.amazonaws.com/model/x",
            "bedrock",
            "https://bedrock-runtime.us-west-2.amazonaws.com",
        ),
        (
            "https://bedrock-mantle.us-east-2.api.aws/v1/x",
            "bedrock",
            "https://bedrock-mantle.us-east-2.api.aws",
        ),
        (
            "https://us-south.ml.cloud.ibm.com/ml/v1/text",
            "watsonx",
            "https://us-south.ml.cloud.ibm.com",
        ),
        ("https://api.together.xyz/v1/chat", "together", "https://api.together.xyz"),
        ("https://api.fireworks.ai/inference/v1", "fireworks", "https://api.fireworks.ai"),
        ("https://api.groq.com/openai/v1/chat", "groq", "https://api.groq.com"),
        ("https://api.mistral.ai/v1/chat", "mistral", "https://api.mistral.ai"),
        ("https://openrouter.ai/api/v1/chat", "openrouter", "https://openrouter.ai"),
        ("http://localhost:8080/v1/chat", "localhost:8080", "http://localhost:8080"),
        ("https://User:Secret@Example.COM/v1", "example.com", "https://User:Secret@Example.COM"),
        ("", "", ""),
        ("http://[::1:bad/v1/chat", "[::1:bad", "http://[::1:bad"),
    ],
)
def test_it_names_the_provider_and_keeps_the_base_url_apart(url, provider, base):
    assert (provider_of(url), base_url(url)) == (provider, base)


@pytest.mark.django_db
@pytest.mark.corpus
def test_it_names_every_corpus_provider_and_keeps_its_address(corpus, manifest):
    import_paths([corpus], max_bytes=MAX)
    stored = {r.path: (r.provider, r.base_url) for r in Recording.objects.all()}
    names = {
        "http://0.0.0.0:11434": "ollama",
        "http://localhost:11434": "ollama",
        "http://localhost:8000": "vllm",
        "https://api.openai.com": "openai",
        "https://us-south.ml.cloud.ibm.com": "watsonx",
        "https://generativelanguage.googleapis.com": "gemini",
        "vertexai:": "vertexai",
        "https://bedrock-runtime.us-west-2.amazonaws.com": "bedrock",
        "https://bedrock-mantle.us-east-2.api.aws": "bedrock",
        "http://localhost:8080": "localhost:8080",
    }
    checked = 0
    for row in manifest:
        path, host = row["path"].removeprefix("recordings/"), row["host"]
        if path not in stored or row["kind"] in ("tool_invoke", "file_processor") or not host:
            continue
        expected = "azure" if host.endswith(".openai.azure.com") else names[host]
        assert stored[path] == (expected, host), path
        checked += 1
    assert checked > 240
    # One provider, two addresses.
    ollama = Recording.objects.filter(provider="ollama")
    assert set(ollama.values_list("base_url", flat=True)) == {
        "http://0.0.0.0:11434",
        "http://localhost:11434",
    }


@pytest.mark.django_db
def test_it_brings_rows_imported_before_in_line_when_it_migrates(tmp_path):
    """Migration 0011 recomputes provider, base URL, suite and a passthrough's endpoint from
    what a row stores: unchanged files are not parsed again by the next import."""
    root = ImportRoot.objects.create(path=str(tmp_path / "tests" / "integration"))
    common = {"root": root, "sha256": "0" * 64, "size": 1, "mtime_ns": 1}
    source = Source.objects.create(**common, path="a.json", format="llama-stack", data=b"{}")
    common |= {"source": source, "search": ""}
    Recording.objects.create(
        **common,
        path="responses/recordings/a.json",
        file_name="a.json",
        kind="inference",
        url="http://localhost:11434/v1/chat/completions",
        provider="http://localhost:11434",
        suite="integration",
        test_id="t.py::test_a",
        legacy=True,
    )
    Recording.objects.create(
        **common,
        path="messages/recordings/b.json",
        file_name="b.json",
        kind="http_passthrough",
        url="https://api.anthropic.com/v1/messages",
        provider="https://api.anthropic.com",
        endpoint="http:/v1/messages",
        suite="messages",
    )
    migration = importlib.import_module("inspector.migrations.0011_provider_base_url")
    # RunPython hands the function a schema editor; it only reads its connection.
    migration.recompute(apps, SimpleNamespace(connection=connection))
    rows = Recording.objects.order_by("path").values_list(
        "path", "provider", "base_url", "suite", "endpoint", "legacy"
    )
    assert list(rows) == [
        (
            "messages/recordings/b.json",
            "anthropic",
            "https://api.anthropic.com",
            "messages",
            "/v1/messages",
            False,
        ),
        (
            "responses/recordings/a.json",
            "ollama",
            "http://localhost:11434",
            "responses",
            "",
            False,
        ),
    ]
