"""fluxopt as a service (issue 14): an HTTP JSON API and a web page in French, on FastAPI.

``fluxopt serve`` runs it on uvicorn; ``fluxopt.service:app`` is the same application for any ASGI
server (settings from ``FLUXOPT_*`` environment variables, see :class:`Settings`). Needs the
``service`` extra: ``pip install 'fluxopt-logement[service]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fluxopt.service.app import create_app
    from fluxopt.service.settings import Settings

__all__ = ["app", "create_app", "Settings"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from fluxopt.service.app import create_app

        return create_app
    if name == "Settings":
        from fluxopt.service.settings import Settings

        return Settings
    if name == "app":
        from fluxopt.service.app import create_app

        application: FastAPI = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module 'fluxopt.service' has no attribute {name!r}")
