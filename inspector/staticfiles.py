"""Django's static files storage, saying each file's URL once."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.storage import StaticFilesStorage


class StaticFiles(StaticFilesStorage):
    """A page names seven static files (stylesheets, scripts, htmx's), ~25 us each to join to
    STATIC_URL; their URLs cannot change while the server runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.urls: dict[str | None, str] = {}

    def url(self, name: str | None) -> str:
        if name not in self.urls:
            self.urls[name] = super().url(name)
        return self.urls[name]
