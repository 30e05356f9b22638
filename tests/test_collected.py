"""`pytest --collect-only -q` output read, and recordings' test ids matched against it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inspector.collected import (
    CollectedError,
    parse_collected,
    read_collected,
    same_file,
    unused,
)

# As pytest 8 prints it from tests/integration (paths relative to where it ran), with a
# collection error, a warning and the summary.
OUTPUT = """\
agents/test_agents.py::test_agent_simple[txt=ollama/llama3.2:3b-instruct-fp16]
agents/test_agents.py::test_tool_config[txt=openai/gpt-4o]
agents/test_agents.py::TestAgentTurns::test_multi_turn[client_with_models-case one]
inference/test_openai_completion.py::test_openai_chat_completion_streaming[openai_client-txt=ollama/llama3.2:3b-inference:chat_completion:streaming_01]
tool_runtime/test_builtin_tools.py::test_web_search

==================================== ERRORS ====================================
_____________________ ERROR collecting safety/test_safety.py ___________________
ImportError while importing test module '/src/tests/integration/safety/test_safety.py'.
E   ModuleNotFoundError: No module named 'llama_guard'
=============================== warnings summary ===============================
agents/test_agents.py::test_agent_simple[txt=ollama/llama3.2:3b-instruct-fp16]
  /src/.venv/lib/python3.12/site-packages/_pytest/fixtures.py:1096: DeprecationWarning: x
    warnings.warn(

-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html
=========================== short test summary info ============================
ERROR safety/test_safety.py
5 tests collected, 1 error in 1.21s
"""


def test_it_reads_the_node_ids_and_leaves_out_everything_else():
    collected = parse_collected(OUTPUT)
    assert collected.count == 5  # the warning repeats one id: once is enough
    assert dict(collected.tests) == {
        "test_agent_simple[txt=ollama/llama3.2:3b-instruct-fp16]": {"agents/test_agents.py"},
        "test_tool_config[txt=openai/gpt-4o]": {"agents/test_agents.py"},
        "TestAgentTurns::test_multi_turn[client_with_models-case one]": {"agents/test_agents.py"},
        "test_openai_chat_completion_streaming[openai_client-txt=ollama/llama3.2:3b-inference:"
        "chat_completion:streaming_01]": {"inference/test_openai_completion.py"},
        "test_web_search": {"tool_runtime/test_builtin_tools.py"},
    }
    assert collected.files == set()


def test_it_matches_an_id_relative_to_the_repository_or_to_where_pytest_ran():
    collected = parse_collected(OUTPUT)
    repo = "tests/integration/agents/test_agents.py::test_tool_config[txt=openai/gpt-4o]"
    assert collected.has(repo)
    assert collected.has("agents/test_agents.py::test_tool_config[txt=openai/gpt-4o]")
    # Collected from the repository's parent: its ids are longer than the recording's.
    longer = parse_collected("llama-stack/tests/integration/agents/test_agents.py::test_x\n")
    assert longer.has("tests/integration/agents/test_agents.py::test_x")


def test_it_matches_a_parametrized_id_exactly():
    collected = parse_collected(OUTPUT)
    agents = "tests/integration/agents/test_agents.py"
    assert not collected.has(f"{agents}::test_tool_config[txt=openai/gpt-4o-mini]")
    assert not collected.has(f"{agents}::test_tool_config")
    assert not collected.has(f"{agents}::test_tool_config[txt=openai/gpt-4o]::x")
    assert collected.has(f"{agents}::TestAgentTurns::test_multi_turn[client_with_models-case one]")
    assert not collected.has(f"{agents}::test_multi_turn[client_with_models-case one]")


def test_it_matches_files_only_at_a_slash():
    assert same_file("tests/integration/agents/test_a.py", "agents/test_a.py")
    assert same_file("agents/test_a.py", "tests/integration/agents/test_a.py")
    assert not same_file("tests/integration/myagents/test_a.py", "agents/test_a.py")
    assert not same_file("tests/integration/agents/test_a.py", "")
    # A `/` inside the parameters is no folder: the test after the file must be equal.
    collected = parse_collected("agents/test_a.py::test_x[txt=openai/gpt-4o]\n")
    assert not collected.has("tests/integration/agents/test_b.py::test_x[txt=openai/gpt-4o]")
    assert not collected.has("gpt-4o]")


def test_it_lists_the_unused_test_ids_never_an_empty_one():
    collected = parse_collected(OUTPUT)
    ids = [
        "tests/integration/agents/test_agents.py::test_tool_config[txt=openai/gpt-4o]",
        "tests/integration/agents/test_agents.py::test_removed",
        "tests/integration/safety/test_safety.py::test_unsafe_examples[shield=llama-guard]",
        "",
        "tests/integration/agents/test_agents.py::test_removed",
    ]
    assert unused(ids, collected) == {
        "tests/integration/agents/test_agents.py::test_removed",
        "tests/integration/safety/test_safety.py::test_unsafe_examples[shield=llama-guard]",
    }


def test_it_reads_qq_output_as_whole_files():
    collected = parse_collected("agents/test_agents.py: 12\ninference/test_x.py: 3\n\n15 tests\n")
    assert collected.files == {"agents/test_agents.py", "inference/test_x.py"}
    assert collected.has("tests/integration/agents/test_agents.py::test_anything[p]")
    assert not collected.has("tests/integration/safety/test_safety.py::test_anything")


def test_it_reads_windows_line_ends_and_no_final_newline():
    collected = parse_collected("a/test_a.py::test_x\r\na/test_a.py::test_y")
    assert collected.has("a/test_a.py::test_x")
    assert collected.has("a/test_a.py::test_y")


def test_it_reads_a_file(tmp_path):
    path = tmp_path / "collected.txt"
    path.write_text(OUTPUT)
    assert read_collected(str(path)).count == 5


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "absent.txt", "no such file"),
        (lambda d: d, "a folder, not a file"),
        (lambda d: fifo(d / "fifo"), "not a regular file"),
        (lambda d: write(d / "empty.txt", b""), "an empty file"),
        (lambda d: write(d / "summary.txt", b"\n0 tests collected in 0.01s\n"), "no test ids"),
        (lambda d: write(d / "tree.txt", b"<Module test_a.py>\n  <Function test_x>\n"), "no test"),
        (lambda d: write(d / "big.txt", b"a.py::t\n" * 200), "larger than"),
    ],
)
def test_it_says_in_one_line_why_a_file_cannot_be_read(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(CollectedError) as caught:
        read_collected(str(path), limit=1000)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_it_says_so_when_a_file_is_not_readable(tmp_path, monkeypatch):
    path = write(tmp_path / "secret.txt", b"a.py::t\n")
    path.chmod(0)  # enough for anyone but root, who reads every file: refused as well then
    refuse = Path.open

    def refused(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(path))
        return refuse(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refused)
    with pytest.raises(CollectedError, match="permission denied"):
        read_collected(str(path))


def test_it_refuses_nul_and_empty_paths():
    with pytest.raises(CollectedError, match="NUL"):
        read_collected("/tmp/a\x00b")
    with pytest.raises(CollectedError, match="no file given"):
        read_collected("  ")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
