"""The inputs of /explain, /explain.json and `explain_miss`: every one optional, every one
validated, so that bad input is a 400 that says what is wrong, never a 500."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from inspector.explaining.misses import MAX_TEXT
from inspector.explaining.questions import Question, ask
from inspector.wire.common import loads
from inspector.wire.types import RecordingError

MAX_BODY = 16 * 1024 * 1024  # the largest recording bodies are a few MB (inline images)
METHOD = re.compile(r"^[A-Za-z]{1,16}$")
FIELDS = ("text", "test_id", "body", "method", "url")


class ExplainForm(forms.Form):
    text = forms.CharField(required=False, max_length=MAX_TEXT, strip=False)
    test_id = forms.CharField(required=False, max_length=10_000)
    body = forms.CharField(required=False, max_length=MAX_BODY)
    method = forms.CharField(required=False, max_length=16)
    url = forms.CharField(required=False, max_length=10_000)

    def clean_body(self) -> Any:
        text = self.cleaned_data.get("body") or ""
        if not text.strip():
            return None
        try:
            return loads(text.encode())
        except RecordingError as exc:
            raise forms.ValidationError(f"The body is not JSON: {exc}.") from None

    def clean_method(self) -> str:
        method = self.cleaned_data.get("method") or ""
        if method and not METHOD.match(method):
            raise forms.ValidationError("An HTTP method is letters only (POST, GET...).")
        return method.upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors and not any(
            data.get(name) not in (None, "") for name in ("text", "test_id", "body")
        ):
            raise forms.ValidationError(
                "Give the text the test printed, a test id or a request body."
            )
        return data

    @property
    def asked(self) -> bool:
        """Whether anything was asked (an empty /explain shows the form alone)."""
        return any(self.data.get(name) for name in FIELDS)

    def question(self) -> Question:
        data = self.cleaned_data
        return ask(
            text=data["text"] or "",
            test_id=data["test_id"] or "",
            body=data["body"],
            method=data["method"] or "",
            url=data["url"] or "",
        )
