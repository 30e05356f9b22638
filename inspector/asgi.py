from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inspector.settings")

application = get_asgi_application()

if os.environ.get("INSPECTOR_SERVE_STATIC", "1") == "1":
    # uvicorn serves no static files; this handler does, for `make serve`.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
