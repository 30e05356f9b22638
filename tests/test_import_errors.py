from __future__ import annotations

import pytest

from inspector.importer import import_paths

pytestmark = pytest.mark.django_db


def test_it_lists_files_that_failed_with_their_reason(client, tmp_path):
    (tmp_path / "bad.json").write_bytes(b'{"request": {')
    (tmp_path / "<b>evil<b>.json").write_bytes(b"")
    import_paths([tmp_path], max_bytes=10**6)
    body = client.get("/errors").content.decode()
    assert "<code>bad.json</code></td><td>truncated JSON (ends early at line 1 column 14)" in body
    assert "&lt;b&gt;evil&lt;b&gt;.json" in body
    assert "<b>evil<b>" not in body
    assert "1 import error" not in body  # the heading counts, the list page links
    assert "Import errors <small>2</small>" in body
