from __future__ import annotations

from django.urls import path

from inspector import views

urlpatterns = [
    path("", views.index, name="inspector-index"),
    path("r/<path:path>", views.recording, name="inspector-recording"),
]
