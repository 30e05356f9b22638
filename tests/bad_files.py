"""A tree of files that have each broken an import run, mixed with good ones.

`write_bad_files(folder)` writes it and returns what importing `folder` must give: for each
file (or folder) its path under `folder` as the import stores it, and either the reason its
import failure must hold, or None for a file that must import. Files that are neither (a text
file, a folder symlink loop) are not in it: the import must pass them by silently.

Write it in conftest's `deep_tmp_path`, which removes it with `remove_tree(folder)`: pytest's
own clean-up of its temporary folders recurses (shutil.rmtree), and this tree is deeper than
Python's recursion limit.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
from pathlib import Path
from typing import Any

GOOD: dict[str, Any] = {
    "test_id": "tests/integration/inference/test_chat.py::TestChat::test_hello[txt=openai/gpt-4o]",
    "request": {
        "method": "POST",
        "url": "https://api.openai.com/v1/chat/completions",
        "headers": {},
        "body": {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "Hello"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        },
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o",
    },
    "response": {
        "body": {
            "__type__": "openai.types.chat.chat_completion.ChatCompletion",
            "__data__": {
                "choices": [
                    {
                        "finish_reason": "stop",
                        "index": 0,
                        "message": {"role": "assistant", "content": "Hi there"},
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            },
        },
        "is_streaming": False,
    },
}
TOOL = {
    "test_id": "tests/integration/tools/test_x.py::test_search",
    "request": {"test_id": None, "provider": "brave", "tool_name": "search", "kwargs": {}},
    "response": {"body": {"__type__": "ogx_api.tools.ToolInvocationResult", "__data__": {}}},
}
# As they are before a test patches them (remove_tree may run before the patches are undone).
SCANDIR, RENAME = os.scandir, os.rename
# Linux's PATH_MAX with its NUL: a longer path is refused by every system call.
PATH_MAX = 4096


def nested(depth: int) -> str:
    """A stand-in that `dump` writes as a value `depth` levels deep (no JSON writer writes
    one: the stdlib's recursion stops near 1,000, orjson at 254)."""
    return f"@@nested {depth}@@"


def nested_text(depth: int) -> str:
    half, odd = divmod(depth, 2)
    return "[" * odd + '{"a": [' * half + "1" + "]}" * half + "]" * odd


def with_(document: dict[str, Any], *changes: tuple[str, Any]) -> dict[str, Any]:
    """A copy of `document` with each dotted path set (`request.body.messages`), or deleted
    for a value of DELETE."""
    document = copy.deepcopy(document)
    for dotted, value in changes:
        *parents, last = dotted.split(".")
        target = document
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return document


DELETE = object()


def dump(document: Any) -> bytes:
    """Pretty JSON, as the recorder writes it: by the stdlib, which writes integers of any
    size (orjson stops at 64 bits), with `nested` stand-ins written out."""
    text = json.dumps(document, indent=2) + "\n"
    text = re.sub(r'"@@nested (\d+)@@"', lambda m: nested_text(int(m[1])), text)
    return text.encode()


def streamed(chunks: list[Any]) -> dict[str, Any]:
    return with_(GOOD, ("response", {"body": chunks, "is_streaming": True}))


def chunk(delta: Any, **extra: Any) -> dict[str, Any]:
    return {
        "__type__": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk",
        "__data__": {"choices": [{"index": 0, "delta": delta, **extra}]},
    }


def contents() -> dict[str, tuple[bytes, str | None]]:
    """Files by path: their bytes and what importing them must give."""
    good = dump(GOOD)
    long = "x" * 3000
    files: dict[str, tuple[bytes, str | None]] = {
        # Good files among them.
        **{f"good/recordings/{n * 64}.json": (good, None) for n in "abcde"},
        "good/recordings/tool.json": (dump(TOOL), None),
        # Bytes that are not JSON.
        "bytes/empty.json": (b"", "empty file"),
        "bytes/blank.json": (b" \n\t\n", "empty file"),
        "bytes/truncated.json": (good[: len(good) // 2], "truncated JSON"),
        "bytes/bom.json": (b"\xef\xbb\xbf" + good, None),
        "bytes/bom_only.json": (b"\xef\xbb\xbf", "malformed JSON"),
        "bytes/nul.json": (good.replace(b'"Hello"', b'"Hel\x00lo"'), "malformed JSON"),
        "bytes/nul_only.json": (b"\x00\x00\x00\x00", "malformed JSON"),
        "bytes/latin1.json": (good.replace(b"Hello", b"H\xe9llo"), "not UTF-8"),
        "bytes/utf16.json": (json.dumps(GOOD).encode("utf-16"), "not UTF-8"),
        "bytes/surrogate.json": (good.replace(b"Hello", b"\\ud800"), "malformed JSON"),
        "bytes/trailing.json": (good + b"}", "malformed JSON"),
        "bytes/nan.json": (good.replace(b": 3,", b": NaN,"), "malformed JSON"),
        "bytes/infinity.json": (good.replace(b": 3,", b": -Infinity,"), "malformed JSON"),
        "bytes/huge_float.json": (good.replace(b": 3,", b": 1e400,"), "malformed JSON"),
        "bytes/too_deep.json": (dump(with_(GOOD, ("request.method", nested(1100)))), "too deep"),
        # JSON, but not what a recording holds.
        "shape/array.json": (b"[]", "wrong top-level type"),
        "shape/string.json": (b'"recording"', "wrong top-level type"),
        "shape/number.json": (b"42", "wrong top-level type"),
        "shape/null.json": (b"null", "wrong top-level type"),
        "shape/no_request.json": (dump(with_(GOOD, ("request", DELETE))), "missing request"),
        "shape/no_response.json": (dump(with_(GOOD, ("response", DELETE))), "missing response"),
        "shape/request_list.json": (dump(with_(GOOD, ("request", [1]))), "wrong type for request"),
        "shape/request_text.json": (dump(with_(GOOD, ("request", "x"))), "wrong type for request"),
        "shape/response_null.json": (dump(with_(GOOD, ("response", None))), "wrong type"),
        "shape/response_list.json": (dump(with_(GOOD, ("response", []))), "wrong type"),
        # Wrong types inside: imported, as far as they make sense.
        "inside/duplicate_keys.json": (b'{"request": 1, ' + good[1:], None),
        "inside/huge_ints.json": (
            dump(with_(GOOD, ("response.status", 2**70), ("test_id", 2**70))),
            None,
        ),
        "inside/body_text.json": (dump(with_(GOOD, ("request.body", "hello"))), None),
        "inside/body_list.json": (dump(with_(GOOD, ("request.body", [1, "a", None]))), None),
        "inside/messages_text.json": (dump(with_(GOOD, ("request.body.messages", "hi"))), None),
        "inside/messages_object.json": (
            dump(with_(GOOD, ("request.body.messages", {"role": 1, "content": {"a": []}}))),
            None,
        ),
        "inside/messages_scalars.json": (
            dump(with_(GOOD, ("request.body.messages", [1, None, True, [], "x"]))),
            None,
        ),
        "inside/tools_text.json": (dump(with_(GOOD, ("request.body.tools", "x"))), None),
        "inside/tools_object.json": (dump(with_(GOOD, ("request.body.tools", {"a": 1}))), None),
        "inside/tools_scalars.json": (
            dump(with_(GOOD, ("request.body.tools", [1, [], None]))),
            None,
        ),
        "inside/response_body_text.json": (dump(with_(GOOD, ("response.body", "text"))), None),
        "inside/response_body_number.json": (dump(with_(GOOD, ("response.body", 7))), None),
        "inside/chunks_scalars.json": (dump(streamed([1, "a", None, [2], True])), None),
        "inside/chunks_wrong_fields.json": (
            dump(streamed([chunk(5), chunk([1]), chunk({"content": 3, "tool_calls": "x"})])),
            None,
        ),
        "inside/exception_text.json": (
            dump(with_(GOOD, ("response.is_exception", True), ("response.exception_data", "x"))),
            None,
        ),
        "inside/test_id_object.json": (dump(with_(GOOD, ("test_id", {"a": [1]}))), None),
        "inside/nul_text.json": (dump(with_(GOOD, ("test_id", "t.py::test_\x00"))), None),
        # What urllib refuses.
        "urls/ipv6.json": (dump(with_(GOOD, ("request.url", "http://[::1:bad/v1/chat"))), None),
        "urls/x.json": (dump(with_(GOOD, ("request.url", "http://[x]/"))), None),
        "urls/fullwidth.json": (dump(with_(GOOD, ("request.url", "http://\uff03/v1/chat"))), None),
        "urls/number.json": (dump(with_(GOOD, ("request.url", 5))), None),
        # Deeper than orjson writes (254), not than it reads (1,024).
        "deep/method.json": (dump(with_(GOOD, ("request.method", nested(300)))), None),
        "deep/message.json": (
            dump(
                with_(GOOD, ("request.body.messages", [{"role": "user", "content": nested(600)}]))
            ),
            None,
        ),
        "deep/tool_parameters.json": (
            dump(with_(GOOD, ("request.body.tools.0.function.parameters", nested(1000)))),
            None,
        ),
        "deep/tool_kwargs.json": (dump(with_(TOOL, ("request.kwargs", nested(1000)))), None),
        # Longer than a btree index entry holds (PostgreSQL: 2,704 bytes).
        "long/test_id.json": (dump(with_(GOOD, ("test_id", f"t.py::test_{long}"))), None),
        "long/model.json": (dump(with_(GOOD, ("request.model", long))), None),
        "long/endpoint.json": (dump(with_(GOOD, ("request.endpoint", f"/{long}"))), None),
        "long/host.json": (dump(with_(GOOD, ("request.url", f"https://{long}/v1"))), None),
        "long/tool_name.json": (
            dump(with_(GOOD, ("request.body.tools.0.function.name", long))),
            None,
        ),
        "dir.json/recordings/inside.json": (good, None),
        "legacy/index.sqlite": (b"not a database", "unreadable legacy index"),
        "legacy/responses/0123456789ab.json": (dump(with_(GOOD, ("test_id", DELETE))), None),
        "notes.txt": (b"not a recording", None),
    }
    # Random-looking text that no compression shortens enough to fit an index entry.
    noise = os.urandom(1600).hex()
    files["long/test_id_noise.json"] = (dump(with_(GOOD, ("test_id", noise))), None)
    return files


def write_bad_files(folder: Path) -> dict[str, str | None]:
    """Write the tree into `folder` (empty or missing); what importing it must give."""
    expected: dict[str, str | None] = {}
    for rel, (data, reason) in contents().items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if rel.endswith((".json", ".sqlite")):
            expected[rel] = reason
    good = dump(GOOD)

    # A name that is not UTF-8: imported, the bad bytes kept as escapes.
    names = folder / "names"
    names.mkdir()
    (names / os.fsdecode(b"\xff\xfe.json")).write_bytes(good)
    (names / os.fsdecode(b"caf\xe9.json")).write_bytes(good)
    expected["names/\\xff\\xfe.json"] = None
    expected["names/caf\\xe9.json"] = None

    # Not files: a FIFO, links that go nowhere or to themselves, a loop of folders.
    special = folder / "special"
    special.mkdir()
    os.mkfifo(special / "fifo.json")
    expected["special/fifo.json"] = "not a regular file"
    (special / "self.json").symlink_to("self.json")
    expected["special/self.json"] = "Too many levels of symbolic links"
    (special / "dangling.json").symlink_to("nowhere.json")
    expected["special/dangling.json"] = "No such file or directory"
    (special / "nowhere").symlink_to("missing-folder")  # no .json name: not a recording
    (special / "loop").symlink_to("..")
    (special / "linked.json").symlink_to(f"../good/recordings/{'a' * 64}.json")
    expected["special/linked.json"] = None

    # 990 folders deep: the walk must not recurse.
    deep_rel = "/".join(["d"] * 990) + "/x.json"
    write_deep(folder, deep_rel.split("/"), good)
    expected[deep_rel] = None

    # A path longer than the index takes (walking.MAX_PATH_BYTES), and one longer than the
    # system takes: made folder by folder, relative to the one above (mkdir of the whole
    # path would be refused).
    long_rel = "/".join(["p" * 250] * 9) + "/x.json"
    write_deep(folder, long_rel.split("/"), good)
    expected[long_rel] = "path too long to index"
    names_too_long = ["q" * 250] * (PATH_MAX // 251 + 1)
    write_deep(folder, [*names_too_long, "x.json"], good)
    for depth in range(1, len(names_too_long) + 1):
        rel = "/".join(names_too_long[:depth])
        if len(os.fsencode(os.path.join(folder, rel))) >= PATH_MAX:
            expected[f"{rel}/"] = "path too long"  # the first folder the walk cannot open
            break

    # A folder that cannot be read. Root reads it anyway: then its file imports.
    locked = folder / "locked"
    locked.mkdir()
    (locked / "inside.json").write_bytes(good)
    locked.chmod(0)
    if os.geteuid() == 0:
        expected["locked/inside.json"] = None
    else:
        expected["locked/"] = "unreadable folder (Permission denied)"
    return expected


def write_deep(folder: Path, names: list[str], data: bytes) -> None:
    """Folders `names[:-1]` one in the other, then the file `names[-1]`, each made relative
    to the folder above: no system call sees the whole path."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in names[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        file = os.open(names[-1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
        with open(file, "wb") as handle:
            handle.write(data)
    finally:
        os.close(fd)


def remove_tree(folder: Path) -> None:
    """Delete `folder` and everything in it, however deep, without recursion and without a
    long path: each folder below the first level is moved up into `folder` to be emptied."""
    if not folder.exists():
        return
    top, moved = str(folder), 0
    stack = [top]
    while stack:
        directory = stack.pop()
        os.chmod(directory, 0o755)  # a locked folder
        with SCANDIR(directory) as entries:
            listed = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
        for name, is_dir in listed:
            path = os.path.join(directory, name)
            if not is_dir:
                os.unlink(path)
            elif directory == top:
                stack.append(path)
            else:
                moved += 1
                stack.append(os.path.join(top, f".removing-{moved}"))
                RENAME(path, stack[-1])
        if directory != top:
            os.rmdir(directory)
    os.rmdir(top)
