"""What an import run reports as it goes: counts of what it wrote, and each failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Report:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    skipped: int = 0  # files named like cassettes that are none (a tree's own YAML)
    failed: int = 0
    pruned: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, unchanged {self.unchanged}, "
            f"missing {self.missing}, failed {self.failed}"
        )


Progress = Callable[[int, int], None]
