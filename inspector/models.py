from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import quote

import orjson
from django.db import models
from django.db.models import Func
from django.db.models.lookups import Exact

from inspector import parsing
from inspector.chunks import Chunks

# Btree index entries are bounded (PostgreSQL: 2,704 bytes) and test ids, models, endpoints,
# hosts and tool names are not: these columns are indexed by their first INDEX_PREFIX
# characters (at most 4 bytes each), and an equality filter on one compares that prefix too,
# so that the index serves it. Long enough that real values differ within it.
INDEX_PREFIX = 200


class Prefix(Func):
    """A text's first INDEX_PREFIX characters, as the indexes of long texts hold them. The
    length is in the SQL, not a parameter: a query's expression must be the index's for
    either database to use the index."""

    template = f"SUBSTR(%(expressions)s, 1, {INDEX_PREFIX})"
    output_field = models.TextField()


class Rest(Func):
    """What follows a text's Prefix."""

    template = f"SUBSTR(%(expressions)s, {INDEX_PREFIX + 1})"
    output_field = models.TextField()


class LongText(models.TextField):
    """Text of any length, indexed by its Prefix: `filter(model=x)` compares the prefix too."""


@LongText.register_lookup
class PrefixExact(Exact):
    """`= x` as `Prefix = x[:INDEX_PREFIX] AND Rest = x[INDEX_PREFIX:]`, which the prefix's
    index serves. Not `AND column = x`: SQLite would put x into the prefix's expression
    (constant propagation), and then have no expression left for the index to match."""

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if not isinstance(self.rhs, str):  # an expression: compared whole
            return super().as_sql(compiler, connection)
        prefix, prefix_params = compiler.compile(Prefix(self.lhs))
        rest, rest_params = compiler.compile(Rest(self.lhs))
        value = self.rhs
        return (
            f"({prefix} = %s AND {rest} = %s)",
            [*prefix_params, value[:INDEX_PREFIX], *rest_params, value[INDEX_PREFIX:]],
        )


class OrjsonField(models.TextField):
    """JSON stored as text and read and written with orjson (faster than JSONField's json
    module). Nothing queries inside these values: they are read whole by the page that shows them.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else orjson.loads(value)

    def to_python(self, value: Any) -> Any:
        return orjson.loads(value) if isinstance(value, str | bytes) else value

    def get_prep_value(self, value: Any) -> str | None:
        return None if value is None else parsing.dumps(value)  # any depth


class ChunksField(OrjsonField):
    """A stream's chunks as columns (`inspector.chunks.Chunks`), stored as the JSON of its
    columns: a 1,000,000-chunk stream is ~8 MB and reads in milliseconds, where its list of
    chunk dicts was 40 MB and took seconds to decode. A row written before columns holds that
    list, and reads as the same `Chunks`."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else Chunks.from_json(orjson.loads(value))

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return None if value is None else Chunks.from_json(value)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return parsing.dumps(Chunks.of(value).as_json())


class ImportRoot(models.Model):
    """A folder recordings were imported from; recordings' paths are relative to it, so a link
    survives a re-import and works on a colleague's machine with the same checkout."""

    path = models.TextField(unique=True)
    # `import_recordings --root NAME`: the name in URLs (`/<name>/r/...`) once two or more
    # roots exist; `--git REV` names a root after its revision and reads no folder.
    name = models.TextField(blank=True, default="")
    revision = models.TextField(blank=True, default="", help_text="git revision, for --git")
    created = models.DateTimeField(auto_now_add=True)
    last_import = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.path


class Source(models.Model):
    """A file as imported: its bytes, exactly (export never depends on the file still being
    there), their hash, and its format. A llama-stack file is the source of one exchange (one
    Recording), a cassette of one per HTTP interaction, in cassette order. Its own table, so
    that listing recordings never reads the bytes."""

    class Format(models.TextChoices):
        LLAMA_STACK = "llama-stack", "llama-stack"
        LEGACY = "llama-stack-legacy", "llama-stack (legacy layout)"
        VCR = "vcr", "VCR.py cassette"

    root = models.ForeignKey(ImportRoot, on_delete=models.CASCADE, related_name="sources")
    path = models.TextField(help_text="path under the import root, with its extension")
    format = models.CharField(max_length=20, choices=Format.choices)
    size = models.BigIntegerField(help_text="bytes read")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the file's bytes")
    mtime_ns = models.BigIntegerField()
    missing = models.BooleanField(default=False, help_text="gone from disk at the last import")
    exchange_count = models.IntegerField(default=1)
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["root", "path"], name="source_root_path_uniq"),
        ]
        indexes = [
            # A cassette's page, `/r/<its path without extension>`, across roots.
            models.Index(fields=["path"], name="source_path_idx"),
        ]

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
    # Source: the file this exchange was read from, and its place in it (from 0). The column
    # may be NULL on SQLite (added in place, migration 0012); every import sets it.
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="exchanges")
    index = models.IntegerField(default=0, help_text="position within its source, from 0")
    format = models.CharField(max_length=20, choices=Source.Format.choices, default="llama-stack")
    # A llama-stack file's path, with its .json ending; a cassette's exchange n (from 1) is
    # `<the cassette's path without extension>/<n>`.
    path = models.TextField(help_text="path under the import root")
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
    test_id = LongText(null=True, blank=True)
    test_file = LongText(blank=True)
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
    provider = LongText(blank=True, help_text="a name (ollama, azure...), else the host")
    base_url = models.TextField(blank=True, default="", help_text="scheme://host:port")
    endpoint = LongText(blank=True)
    model = LongText(blank=True)
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
    # Name audit (inspector.llama_stack.verdicts): can the harness still find this file? ""
    # until audited (rows imported before audits are audited by the next import).
    name_verdict = models.CharField(max_length=20, blank=True, default="")
    name_reason = models.TextField(blank=True, default="")
    # The request's hash under today's rule (llama-stack), the name the harness looks for.
    computed_hash = models.TextField(blank=True, default="")
    # Digests for finding a request's nearest recordings (explain) and pairing re-recordings
    # (compare): of the request without its test id, and of its last user message.
    request_key = models.CharField(max_length=64, blank=True, default="")
    prompt_key = models.CharField(max_length=64, blank=True, default="")
    # Legacy index.sqlite row
    legacy_request_hash = models.TextField(blank=True)
    legacy_timestamp = models.TextField(blank=True)

    class Meta:
        constraints = [
            # /r/<path> finds a recording by its path under its root.
            models.UniqueConstraint(fields=["root", "path"], name="recording_root_path_uniq"),
        ]
        indexes = [
            # /r/<path> across roots, newest import first. Paths are bounded
            # (walking.MAX_PATH_BYTES), file names (the hash) by the file system, suites by
            # paths: indexed whole.
            models.Index(fields=["path"], name="recording_path_idx"),
            # A source's exchanges, in order.
            models.Index(fields=["source", "index"], name="recording_source_idx"),
            # The list's format facet and filter (a count of `format=vcr` scanned the table).
            models.Index(fields=["format"], name="recording_format_idx"),
            # "by test": every recording of one test id (LongText: by its prefix).
            models.Index(Prefix("test_id"), name="recording_test_id_prefix_idx"),
            # Looking a replay miss up by its hash.
            models.Index(fields=["request_hash"], name="recording_hash_idx"),
            # The list's facet filters: equality on one value (LongText: by its prefix).
            models.Index(fields=["suite"], name="recording_suite_idx"),
            models.Index(Prefix("test_file"), name="recording_test_file_prefix_idx"),
            models.Index(Prefix("endpoint"), name="recording_endpoint_prefix_idx"),
            models.Index(Prefix("model"), name="recording_model_prefix_idx"),
            models.Index(Prefix("provider"), name="recording_provider_prefix_idx"),
            models.Index(
                fields=["is_streaming", "is_exception", "tool_call_count"],
                name="recording_flags_idx",
            ),
            # The audit facet and page; a miss's hash among what files should be named.
            models.Index(fields=["name_verdict"], name="recording_verdict_idx"),
            models.Index(fields=["computed_hash"], name="recording_computed_hash_idx"),
            models.Index(fields=["request_key"], name="recording_request_key_idx"),
            models.Index(fields=["prompt_key"], name="recording_prompt_key_idx"),
        ]

    def __str__(self) -> str:
        return self.path

    @cached_property
    def url_prefix(self) -> str:
        """`/<its root's name>` while two or more roots exist, else "" (inspector.roots): what
        every link to this recording starts with."""
        from inspector import roots

        return roots.prefix(self.root_id)

    @property
    def raw_url(self) -> str:
        return f"{self.url_prefix}/r/{self.path}"

    @property
    def page_url(self) -> str:
        return f"{self.url_prefix}/r/{quote(self.path.removesuffix('.json'))}"


class RecordingContent(models.Model):
    """What a recording says, as one text (`inspector.contents`), for the content search
    (`?text=`): a side table, so that the wide recording row stays as narrow as the list needs,
    written by the importer and deleted with its recording. Its full-text index is the
    database's own over `words` (migration 0015): FTS5 on SQLite, a GIN-indexed `tsvector` on
    PostgreSQL."""

    recording = models.OneToOneField(
        Recording, on_delete=models.CASCADE, primary_key=True, related_name="content"
    )
    text = models.TextField(help_text="capped (contents.CAP_BYTES); snippets are cut from it")
    # What the index reads: the words of `text` casefolded, accents stripped, one space apart
    # (`contents.words_of`), so that both databases split them alike.
    words = models.TextField(blank=True, default="")


class Stream(models.Model):
    """The streamed chunks of one recording, in arrival order: a sequence of compact dicts
    `{"i": index, "k": [what it carries], "role", "content", "reasoning",
    "tool": [{"index", "id", "name", "args"}], "finish", "usage", "t": timestamp,
    "event"/"lines" for SSE}`, held as columns (`inspector.chunks`). One row per recording, not
    per chunk: a stream is always read whole, and a row per chunk made imports several times
    slower."""

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, primary_key=True)
    chunks = ChunksField(default=list)


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
    name = LongText(blank=True)
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
            models.Index(Prefix("name"), name="toolcall_name_prefix_idx"),
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
