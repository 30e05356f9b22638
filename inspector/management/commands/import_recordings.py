from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspector.gitsource import GitError, import_git
from inspector.import_report import Report
from inspector.importer import import_paths
from inspector.models import ImportRoot
from inspector.roots import valid_name
from inspector.walking import text_of_path

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
        parser.add_argument(
            "--root",
            metavar="NAME",
            default="",
            help="the root's name in URLs (/NAME/r/...) and /compare; one PATH only",
        )
        parser.add_argument(
            "--git",
            metavar="REV",
            default="",
            help="import PATH (a repository, or a folder in one) at this git revision, from "
            "its objects, with no checkout; one PATH only",
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
        name, rev = options["root"], options["git"]
        if (name or rev) and len(options["paths"]) > 1:
            raise CommandError("--root and --git take one PATH")
        if name:
            check_name(name, options["paths"][0], rev)
        self.show_progress = sys.stderr.isatty() and not options["no_progress"]
        common = {
            "max_bytes": options["max_bytes"],
            "prune": options["prune"],
            "progress": self.progress if self.show_progress else None,
            "on_failure": self.failure,
            "report": self.report,
            "name": name,
        }
        root = None
        if rev:
            try:
                report, root = import_git(options["paths"][0], rev, **common)
            except GitError as exc:
                raise CommandError(f"{options['paths'][0]}: {exc}") from None
        else:
            report = import_paths(options["paths"], **common)
        self.clear_progress(self.show_progress)
        line = report.line() + (f", pruned {report.pruned}" if report.pruned else "")
        if root is not None:
            line += f" (root {root.name}: {rev} at {root.revision[:12]})"
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


def check_name(name: str, path: str, rev: str) -> None:
    """A name for URLs, and no other folder's: `--root` names one root."""
    if not valid_name(name):
        raise CommandError(
            f"--root {name}: a name is letters, digits, '.', '_', '~' and '-', and not one of "
            "the app's own addresses (r, raw, test, compare...)"
        )
    if rev:
        return  # a revision's root is its commit's: a name already taken is an error below
    target = Path(path).absolute()
    folder = text_of_path(str(target if target.is_dir() else target.parent))
    other = ImportRoot.objects.filter(name=name).exclude(path=folder).first()
    if other is not None:
        raise CommandError(f"--root {name}: already the name of {other.path}")
