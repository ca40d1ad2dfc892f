"""The pages' scripts, served as files: the Content-Security-Policy allows no inline script.

Each route serves one file named in code, read once when the app is built: no part of the
request ever becomes a path on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCRIPTS: Final = Path(__file__).parent / "static"


def script_route(path: str, file: Path) -> Route:
    """A ``GET`` route at ``path`` answering with the JavaScript file ``file``."""
    body = file.read_bytes()

    async def endpoint(request: Request) -> Response:
        return Response(
            body,
            media_type="text/javascript; charset=utf-8",
            headers={"cache-control": "public, max-age=3600"},
        )

    return Route(path, endpoint, methods=["GET"])
