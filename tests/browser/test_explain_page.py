"""A replay miss pasted into the search box explains itself, and its candidates open a diff."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import orjson
import pytest
from playwright.sync_api import Page, expect

from inspector.importer import import_paths
from inspector.llama_stack import hashing

TEST_ID = "tests/integration/inference/test_chat.py::test_weather[txt=ollama/llama3.2:3b]"


def recording(text: str, temperature: float) -> dict:
    request = {
        "method": "POST",
        "url": "http://localhost:11434/v1/v1/chat/completions",
        "headers": {},
        "body": {
            "model": "llama3.2:3b",
            "messages": [{"role": "user", "content": text}],
            "temperature": temperature,
        },
        "endpoint": "/v1/chat/completions",
        "model": "llama3.2:3b",
    }
    message = {"role": "assistant", "content": f"About {text}"}
    body = {
        "id": "rec-1",
        "object": "chat.completion",
        "created": 0,
        "model": "llama3.2:3b",
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
    }
    wrapped = {"__type__": "openai.types.chat.chat_completion.ChatCompletion", "__data__": body}
    response = {"body": wrapped, "is_streaming": False}
    return {"test_id": TEST_ID, "request": request, "response": response}


@pytest.fixture
def tree(tmp_path: Path, transactional_db) -> dict:
    folder = tmp_path / "inference" / "recordings"
    folder.mkdir(parents=True)
    written = {}
    for text, temperature in (("Weather in Tokyo?", 0.1), ("Weather in Paris?", 0.2)):
        document = recording(text, temperature)
        name = hashing.request_hashes(document["request"], TEST_ID)[hashing.CURRENT]
        (folder / f"{name}.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        written[text] = (name, document)
    assert import_paths([tmp_path], max_bytes=1 << 20).failed == 0
    return written


def test_a_pasted_miss_lands_on_its_explanation_and_opens_a_diff(live_server, page: Page, tree):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    changed = copy.deepcopy(tree["Weather in Tokyo?"][1]["request"])
    changed["body"]["messages"][0]["content"] = "Weather in Kyoto?"
    missed = hashing.request_hashes(changed, TEST_ID)[hashing.CURRENT]
    pasted = (
        f"FAILED {TEST_ID} - RuntimeError: Recording not found for request hash: {missed}\n"
        "Model: llama3.2:3b | Request: POST http://localhost:11434/v1/v1/chat/completions\n"
        "Run with --inference-mode record-if-missing to record it."
    )
    page.goto(live_server.url)
    page.locator("#search").fill(pasted)
    page.locator("#search").press("Enter")
    expect(page).to_have_url(re.compile(r"/explain\?"))
    expect(page.locator("main")).to_contain_text(missed)
    expect(page.locator("main")).to_contain_text("record-if-missing")
    candidates = page.locator("li.candidate")
    expect(candidates).to_have_count(2)
    candidates.nth(1).locator("a.diff-link").click()
    expect(page).to_have_url(re.compile(r"/diff\?"))
    expect(page.locator("main")).to_contain_text("messages[0].content")
    assert errors == []
