from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspector.explaining.answers import as_text, explain
from inspector.explaining.forms import ExplainForm


class Command(BaseCommand):
    help = (
        "Explain a replay miss: read what the failing test printed (a whole pytest output will "
        "do) from FILE, or from stdin with '-', and print the hash looked for, where a file of "
        "that name is, the nearest recordings with their differences and the command that "
        "re-records the test."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", nargs="?", help="the text, or - for stdin (read when piped, by default)"
        )
        parser.add_argument("--test-id", default="", help="the test's pytest node id")
        parser.add_argument(
            "--body", default="", help="a file holding the request body (JSON), or - for stdin"
        )
        parser.add_argument("--method", default="", help="the request's method (POST)")
        parser.add_argument("--url", default="", help="the request's URL")
        parser.add_argument("--json", action="store_true", help="print the answer as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        if name is None and options["body"] != "-" and not sys.stdin.isatty():
            name = "-"  # `pytest ... | manage.py explain_miss`
        if name == "-" and options["body"] == "-":
            raise CommandError("only one of FILE and --body can be read from stdin")
        text = read(name) if name else ""
        body = read(options["body"]) if options["body"] else ""
        form = ExplainForm(
            {
                "text": text,
                "test_id": options["test_id"],
                "body": body,
                "method": options["method"],
                "url": options["url"],
            }
        )
        if not form.is_valid():
            reasons = [f"{field}: {' '.join(errs)}" for field, errs in form.errors.items()]
            raise CommandError("; ".join(reasons))
        answer = explain(form.question())
        if options["json"]:
            self.stdout.write(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())
        else:
            self.stdout.write(as_text(answer), ending="")


def read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CommandError(f"{name}: {exc.strerror or exc}") from None
