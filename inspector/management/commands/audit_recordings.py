from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q, QuerySet

from inspector.auditing import audit_root
from inspector.collected import CollectedError, read_collected, unused
from inspector.formats import LLAMA_STACK
from inspector.llama_stack import verdicts
from inspector.models import ImportRoot, Recording
from inspector.views.audit import LISTED, WORST_FIRST, verdict_counts

# Exit statuses: 1 when a file can never be replayed as it is (verdicts.FAILING), 2 when the
# audit itself cannot run (nothing imported, an unknown root, an unreadable --collected).
FAILED, UNUSABLE = 1, 2


def one_line(text: str | None) -> str:
    """A path or reason on one line: control characters (a newline in a file name) escaped."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text or ""
    )


class Command(BaseCommand):
    help = (
        "The name audit of the imported llama-stack recordings: each file the replay harness "
        "does not find by its name (path: verdict: reason), then the totals. Exits 1 when any "
        "is unreachable or a duplicate, for CI. --collected FILE (pytest --collect-only -q "
        "output) also lists the recordings whose test no collected test is."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--root", help="only recordings imported from this folder")
        parser.add_argument("--suite", help="only this suite (e.g. agents, providers/nvidia)")
        parser.add_argument(
            "--all", action="store_true", help="list n/a files too (model listings, cassettes)"
        )
        parser.add_argument(
            "--collected",
            metavar="FILE",
            help="the output of `pytest --collect-only -q`: list the unused recordings",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args: Any, **options: Any) -> None:
        recordings = self.selection(options)
        counts, _ = verdict_counts(recordings)
        listed = (*LISTED, verdicts.NOT_APPLICABLE) if options["all"] else LISTED
        files = recordings.filter(name_verdict__in=listed).order_by(WORST_FIRST, "path", "id")
        rows = list(files.values_list("path", "name_verdict", "name_reason"))
        found_unused = self.unused(recordings, options["collected"])
        if options["json"]:
            self.write_json(counts, rows, found_unused)
        else:
            for path, verdict, reason in rows:
                self.stdout.write(f"{one_line(path)}: {verdict}: {one_line(reason)}")
            for path, test_id in found_unused or []:
                self.stdout.write(
                    f"{one_line(path)}: unused: no collected test is {one_line(test_id)}"
                )
            self.stdout.write(", ".join(f"{v} {n}" for v, n in counts.items()))
            if found_unused is not None:
                self.stdout.write(f"unused {len(found_unused)}")
        if any(counts[v] for v in verdicts.FAILING):
            sys.exit(FAILED)

    def selection(self, options: dict[str, Any]) -> QuerySet[Recording]:
        """The present recordings asked for, every one audited (rows imported before audits
        get their verdicts now). Files gone from disk are not audited: no CI reads them."""
        roots = ImportRoot.objects.all()
        if options["root"]:
            folder = str(Path(options["root"]).expanduser().absolute())
            roots = roots.filter(Q(path=folder) | Q(name=options["root"]))
            if not roots.exists():
                raise CommandError(
                    f"{options['root']}: no recordings were imported from it", returncode=UNUSABLE
                )
        for root in roots.filter(recordings__name_verdict="").distinct():
            audit_root(root)
        recordings = Recording.objects.filter(root__in=roots, missing=False)
        if options["suite"]:
            recordings = recordings.filter(suite=options["suite"])
        if not recordings.exists():
            raise CommandError(
                "no recordings to audit: import them first (manage.py import_recordings PATH)",
                returncode=UNUSABLE,
            )
        return recordings

    def unused(self, recordings: QuerySet[Recording], path: str | None) -> list[tuple[str, str]]:
        """(path, test id) of the recordings no collected test has, by path; None without
        --collected."""
        if path is None:
            return None
        try:
            collected = read_collected(path)
        except CollectedError as exc:
            raise CommandError(str(exc), returncode=UNUSABLE) from None
        rows = list(
            recordings.filter(format=LLAMA_STACK, test_id__isnull=False)
            .exclude(test_id="")
            .order_by("path", "id")
            .values_list("path", "test_id")
        )
        gone = unused((test_id for _, test_id in rows), collected)
        return [(p, t) for p, t in rows if t in gone]

    def write_json(
        self,
        counts: dict[str, int],
        rows: list[tuple[str, str, str]],
        found_unused: list[tuple[str, str]] | None,
    ) -> None:
        body: dict[str, Any] = {
            "counts": counts,
            "files": [{"path": p, "verdict": v, "reason": r} for p, v, r in rows],
        }
        if found_unused is not None:
            body["unused"] = [{"path": p, "test_id": t} for p, t in found_unused]
        self.stdout.write(json.dumps(body, indent=2))
