from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict

from inspector import exporting
from inspector.forms import RecordingFilter
from inspector.zipping import zip_chunks

# The list's parameters, as options: `--suite agents` is `?suite=agents`. Facets take several
# values (`--model a --model b`: any of them), as the list does; the flags take yes or no.
SEARCHES = ("q", "text")
FACETS = ("suite", "file", "endpoint", "model", "provider", "format", "verdict")
FLAGS = ("streaming", "tools", "exception", "status")


class Command(BaseCommand):
    help = (
        "Write the files of the recordings the list would show for the same parameters under "
        "OUT (or into a zip, --zip), at their paths relative to their import root (under its "
        "name with two or more roots), byte-identical to what was imported (legacy "
        "index.sqlite files too when nothing narrows the selection but --path or --root)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", nargs="?", help="folder to write into (created if needed)")
        parser.add_argument("--zip", metavar="FILE", help="write a zip, as /export.zip gives")
        parser.add_argument("--q", help="the list's search: test id or path contains each word")
        parser.add_argument("--text", help="the list's content search (what recordings say)")
        for name in FACETS:
            parser.add_argument(f"--{name}", action="append", help=f"only this {name} (repeat)")
        for name in FLAGS:
            values = "ok|exception|missing" if name == "status" else "yes|no"
            parser.add_argument(f"--{name}", metavar=values)
        parser.add_argument("--test", help="only recordings whose test id contains this")
        parser.add_argument("--path", help="only paths that start with this")
        parser.add_argument("--root", help="only recordings imported from this folder")
        parser.add_argument(
            "--overwrite", action="store_true", help="replace files that already exist"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["out"]) == bool(options["zip"]):
            raise CommandError("give a folder to write into, or --zip FILE (one of them)")
        form = listing_form(options)
        where = {
            "root__path": str(Path(options["root"]).absolute()) if options["root"] else None,
            "path__startswith": options["path"],
        }
        narrowing = {"test_id__contains": options["test"]} if options["test"] else {}
        chosen = exporting.selection(
            form, {k: v for k, v in where.items() if v is not None}, **narrowing
        )
        if options["zip"]:
            self.write_zip(Path(options["zip"]), chosen, options["overwrite"])
            return
        out = Path(options["out"])
        try:
            written, skipped = exporting.write_members(out, chosen.members(), options["overwrite"])
        except FileExistsError as exc:
            raise CommandError(f"{exc.filename}: already exists (use --overwrite)") from None
        self.stdout.write(
            f"exported {written} files to {out}" + (f", {skipped} unchanged" if skipped else "")
        )

    def write_zip(self, target: Path, chosen: exporting.Selection, overwrite: bool) -> None:
        if target.exists() and not overwrite:
            raise CommandError(f"{target}: already exists (use --overwrite)")
        count = 0

        def counted() -> Any:
            nonlocal count
            for member in chosen.members():
                count += 1
                yield member

        # Written beside, then moved over: an interrupted export leaves no half zip at FILE.
        partial = target.with_name(target.name + ".partial")
        try:
            with open(partial, "wb") as handle:
                for chunk in zip_chunks(counted()):
                    handle.write(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
        self.stdout.write(f"exported {count} files to {target}")


def listing_form(options: dict[str, Any]) -> RecordingFilter:
    """The list's form, filled from the options as the page's address would fill it; a bad
    value is the form's message, on one line."""
    query = QueryDict(mutable=True)
    for name in (*SEARCHES, *FACETS, *FLAGS):
        value = options[name]
        if value in (None, []):
            continue
        if name not in RecordingFilter.base_fields:
            raise CommandError(f"--{name}: the list has no such parameter in this version")
        values = value if isinstance(value, list) else [value]
        query.setlist(name, values)
        # A field that reads one value would take the last and drop the others unsaid.
        read = RecordingFilter.base_fields[name].widget.value_from_datadict(query, {}, name)
        if len(values) > 1 and not isinstance(read, list | tuple):
            raise CommandError(f"--{name}: give it once (the list takes one value of it)")
    form = RecordingFilter(query)
    if not form.is_valid():
        problems = "; ".join(
            f"--{field}: {' '.join(messages)}" for field, messages in form.errors.items()
        )
        raise CommandError(problems.replace("\n", " "))
    return form
