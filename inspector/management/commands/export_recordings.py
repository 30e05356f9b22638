from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspector.exporting import export_to


class Command(BaseCommand):
    help = (
        "Write recordings back as files under OUT, at their paths relative to their import "
        "root, byte-identical to what was imported (legacy index.sqlite files included)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="folder to write into (created if needed)")
        parser.add_argument("--test", help="only recordings whose test id contains this")
        parser.add_argument("--suite", help="only this suite (e.g. agents, providers/nvidia)")
        parser.add_argument("--endpoint", help="only this endpoint (e.g. /v1/chat/completions)")
        parser.add_argument("--model", help="only this model")
        parser.add_argument("--path", help="only paths that start with this")
        parser.add_argument("--root", help="only recordings imported from this folder")
        parser.add_argument(
            "--overwrite", action="store_true", help="replace files that already exist in OUT"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        filters = {
            "test_id__contains": options["test"],
            "suite": options["suite"],
            "endpoint": options["endpoint"],
            "model": options["model"],
            "path__startswith": options["path"],
            "root__path": str(Path(options["root"]).absolute()) if options["root"] else None,
        }
        try:
            written, skipped = export_to(
                out, {k: v for k, v in filters.items() if v is not None}, options["overwrite"]
            )
        except FileExistsError as exc:
            raise CommandError(f"{exc.filename}: already exists (use --overwrite)") from None
        self.stdout.write(
            f"exported {written} files to {out}" + (f", {skipped} unchanged" if skipped else "")
        )
