from __future__ import annotations

from typing import Any

import orjson
from django.db import models


class OrjsonField(models.TextField):
    """JSON stored as text and read and written with orjson (faster than JSONField's json
    module). Nothing queries inside these values: they are read whole by the page that shows them.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else orjson.loads(value)

    def to_python(self, value: Any) -> Any:
        return orjson.loads(value) if isinstance(value, str | bytes) else value

    def get_prep_value(self, value: Any) -> str | None:
        return None if value is None else orjson.dumps(value).decode()


class ImportRoot(models.Model):
    """A folder recordings were imported from; recordings' paths are relative to it, so a link
    survives a re-import and works on a colleague's machine with the same checkout."""

    path = models.TextField(unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_import = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.path


class Recording(models.Model):
    class Kind(models.TextChoices):
        INFERENCE = "inference"
        PASSTHROUGH = "http_passthrough", "HTTP passthrough"
        TOOL_INVOKE = "tool_invoke", "tool invocation"
        FILE_PROCESSOR = "file_processor", "file processing"
        GENERIC = "generic"

    root = models.ForeignKey(ImportRoot, on_delete=models.CASCADE, related_name="recordings")
    # Source
    path = models.TextField(help_text="path under the import root, with its .json ending")
    file_name = models.TextField()
    request_hash = models.TextField(help_text="the hash the file name carries")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the file's bytes")
    mtime_ns = models.BigIntegerField()
    legacy = models.BooleanField(default=False, help_text="2025 layout with index.sqlite")
    missing = models.BooleanField(default=False, help_text="gone from disk at the last import")
    # First import. Ids follow the import too: the list's "newest import first" is descending
    # id, which the primary key and the search index serve (inspector/search.py).
    imported = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Test
    # null: the recording has no test id (requests made outside any test).
    test_id = models.TextField(null=True, blank=True)  # noqa: DJ001
    test_file = models.TextField(blank=True)
    test_class = models.TextField(blank=True)
    test_function = models.TextField(blank=True)
    test_params = models.TextField(blank=True)
    suite = models.TextField(blank=True)
    # What the search box matches: the test id and the path, lowercased. Indexed for substring
    # search by trigrams: FTS5 on SQLite, pg_trgm on PostgreSQL (inspector/search.py).
    search = models.TextField(blank=True, default="")
    # Request
    kind = models.CharField(max_length=20, choices=Kind.choices)
    method = models.TextField(blank=True)
    url = models.TextField(blank=True)
    provider = models.TextField(blank=True, help_text="host of the URL, or the tool's provider")
    endpoint = models.TextField(blank=True)
    model = models.TextField(blank=True)
    # Response
    is_streaming = models.BooleanField(default=False)
    chunk_count = models.IntegerField(default=0, help_text="items of the recorded body")
    response_type = models.TextField(blank=True, help_text="the `__type__` label, as a label")
    status = models.IntegerField(null=True, blank=True, help_text="HTTP status (passthrough)")
    is_exception = models.BooleanField(default=False)
    exception_type = models.TextField(blank=True)
    exception_status = models.IntegerField(null=True, blank=True)
    exception_message = models.TextField(blank=True)
    # Assembled response
    response_role = models.TextField(blank=True)
    response_text = models.TextField(blank=True)
    response_reasoning = models.TextField(blank=True)
    finish_reason = models.TextField(blank=True)
    # Token usage
    prompt_tokens = models.IntegerField(null=True, blank=True)
    completion_tokens = models.IntegerField(null=True, blank=True)
    total_tokens = models.IntegerField(null=True, blank=True)
    cached_tokens = models.IntegerField(null=True, blank=True)
    reasoning_tokens = models.IntegerField(null=True, blank=True)
    # Counts, so the list never joins
    message_count = models.IntegerField(default=0)
    tool_count = models.IntegerField(default=0)
    tool_call_count = models.IntegerField(default=0)
    has_timing = models.BooleanField(default=False, help_text="chunks carry real timestamps")
    embedding_count = models.IntegerField(null=True, blank=True)
    embedding_dims = models.IntegerField(null=True, blank=True)
    listed_models = OrjsonField(default=list, blank=True)
    details = OrjsonField(default=dict, blank=True, help_text="kind-specific facts")
    # Legacy index.sqlite row
    legacy_request_hash = models.TextField(blank=True)
    legacy_timestamp = models.TextField(blank=True)

    class Meta:
        constraints = [
            # /r/<path> finds a recording by its path under its root.
            models.UniqueConstraint(fields=["root", "path"], name="recording_root_path_uniq"),
        ]
        indexes = [
            # /r/<path> across roots, newest import first.
            models.Index(fields=["path"], name="recording_path_idx"),
            # "by test": every recording of one test id.
            models.Index(fields=["test_id"], name="recording_test_id_idx"),
            # Looking a replay miss up by its hash.
            models.Index(fields=["request_hash"], name="recording_hash_idx"),
            # The list's facets: counting a column's values reads its index, not the rows.
            models.Index(fields=["suite"], name="recording_suite_idx"),
            models.Index(fields=["test_file"], name="recording_test_file_idx"),
            models.Index(fields=["endpoint"], name="recording_endpoint_idx"),
            models.Index(fields=["model"], name="recording_model_idx"),
            models.Index(fields=["provider"], name="recording_provider_idx"),
            models.Index(
                fields=["is_streaming", "is_exception", "tool_call_count"],
                name="recording_flags_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def raw_url(self) -> str:
        return f"/r/{self.path}"


class Blob(models.Model):
    """The file's original bytes, exactly: export never depends on the file still being there.
    Its own table, so that listing recordings never reads them."""

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, primary_key=True)
    data = models.BinaryField()


class Stream(models.Model):
    """The streamed chunks of one recording, in arrival order, one compact dict each:
    `{"i": index, "k": [what it carries], "role", "content", "reasoning",
    "tool": [{"index", "id", "name", "args"}], "finish", "usage", "t": timestamp,
    "event"/"lines" for SSE}`. One row per recording, not per chunk: a stream is always read
    whole, and a row per chunk made imports several times slower."""

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, primary_key=True)
    chunks = OrjsonField(default=list)


class Message(models.Model):
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="messages")
    index = models.IntegerField()
    role = models.TextField()
    text = models.TextField(blank=True, help_text="the text parts, joined")
    parts = OrjsonField(default=list, help_text="every part; images summarised")
    image_count = models.IntegerField(default=0)
    name = models.TextField(blank=True)
    tool_call_id = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)

    class Meta:
        ordering = ["recording", "index"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "index"], name="message_order_uniq"),
        ]


class ToolDef(models.Model):
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="tools")
    index = models.IntegerField()
    name = models.TextField()
    description = models.TextField(blank=True)
    parameters = OrjsonField(null=True, blank=True, help_text="JSON schema")

    class Meta:
        ordering = ["recording", "index"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "index"], name="tooldef_order_uniq"),
        ]


class ToolCall(models.Model):
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="tool_calls")
    position = models.IntegerField(help_text="order within the recording")
    index = models.IntegerField(help_text="index within its message or stream")
    call_id = models.TextField(blank=True)
    name = models.TextField(blank=True)
    arguments = models.TextField(blank=True, help_text="raw, as sent")
    arguments_valid = models.BooleanField(default=True, help_text="arguments parse as JSON")
    message_index = models.IntegerField(null=True, blank=True, help_text="null: the response")
    answered_by = models.IntegerField(null=True, blank=True, help_text="index of the answer")

    class Meta:
        ordering = ["recording", "position"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "position"], name="toolcall_order_uniq"),
        ]
        indexes = [
            # "Which recordings call tool X?"
            models.Index(fields=["name"], name="toolcall_name_idx"),
        ]

    @property
    def in_response(self) -> bool:
        return self.message_index is None


class LegacyIndex(models.Model):
    """A legacy `index.sqlite`, kept byte for byte so that export gives it back."""

    root = models.ForeignKey(ImportRoot, on_delete=models.CASCADE, related_name="legacy_indexes")
    path = models.TextField()
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    mtime_ns = models.BigIntegerField()
    data = models.BinaryField()
    rows = OrjsonField(default=list, help_text="its recordings table, row by row")
    missing = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["root", "path"], name="legacyindex_root_path_uniq"),
        ]


class ImportFailure(models.Model):
    """A file that could not be imported, and why; the UI lists these."""

    root = models.ForeignKey(ImportRoot, on_delete=models.CASCADE, related_name="failures")
    path = models.TextField()
    reason = models.TextField()
    size = models.BigIntegerField(null=True, blank=True)
    mtime_ns = models.BigIntegerField(null=True, blank=True)
    seen = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["root", "path"], name="importfailure_root_path_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"
