from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspector.importer import Report, import_paths

# What a shell reports for a program ended by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130


class Command(BaseCommand):
    help = (
        "Import recording files (folders are walked recursively). Unchanged files are skipped, "
        "changed ones updated in place, vanished ones marked missing (deleted with --prune). "
        "Exits 1 when any file failed to import, 130 when interrupted (Ctrl-C): what was "
        "written by then stays, whole recordings only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="folders or files to import")
        parser.add_argument(
            "--max-bytes",
            type=int,
            default=settings.INSPECTOR_MAX_BYTES,
            help="refuse files larger than this (default: %(default)s)",
        )
        parser.add_argument(
            "--prune", action="store_true", help="delete recordings whose file is gone"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar, even on a terminal"
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        # Here rather than in handle(): Ctrl-C during Django's checks is no traceback either.
        self.report, self.show_progress = Report(), False
        try:
            return super().execute(*args, **options)
        except KeyboardInterrupt:
            # The batch being written was rolled back; every one before it is committed.
            self.clear_progress(self.show_progress)
            self.stdout.write(f"interrupted: {self.report.line()}")
            sys.exit(INTERRUPTED)

    def handle(self, *args: Any, **options: Any) -> None:
        for path in options["paths"]:
            if not Path(path).exists():
                raise CommandError(f"{path}: no such file or folder")
        self.show_progress = sys.stderr.isatty() and not options["no_progress"]
        report = import_paths(
            options["paths"],
            max_bytes=options["max_bytes"],
            prune=options["prune"],
            progress=self.progress if self.show_progress else None,
            on_failure=self.failure,
            report=self.report,
        )
        self.clear_progress(self.show_progress)
        line = report.line() + (f", pruned {report.pruned}" if report.pruned else "")
        self.stdout.write(line)
        if report.failed:
            sys.exit(1)

    def clear_progress(self, shown: bool) -> None:
        if shown:
            sys.stderr.write("\r\033[K")

    def failure(self, path: str, reason: str) -> None:
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K")
        self.stderr.write(f"{path}: {reason}")

    def progress(self, done: int, total: int) -> None:
        if done % 50 and done != total:
            return
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        sys.stderr.flush()
