"""Serving media under `/vod/<key>`: Range (206), Content-Type, ETag, Last-Modified.

A key is `<app_id>/<file_id>/<url_token>/...`; it is served only while the media
row exists and carries that token, so deleting a media answers 404 at once
(even before its blobs are gone) and URLs cannot be guessed from a FileId.
While its application is disabled (ModifySubAppIdStatus Off) a file answers 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from vodflow.core.media_info import content_type
from vodflow.core.watermark_templates import image_key_owner
from vodflow.errors import VodError

if TYPE_CHECKING:
    from vodflow.services import Services

MAX_KEY = 1024


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404)


async def serve_file(request: Request) -> Response:
    services: Services = request.app.state.services
    key = request.path_params.get("key", "")
    if len(key) > MAX_KEY:
        return _not_found()
    parts = key.split("/")
    if len(parts) < 4 or any(p in ("", ".", "..") for p in parts) or "\x00" in key:
        return _not_found()
    app_id, file_id, token = parts[0], parts[1], parts[2]
    if not app_id.isdigit() or len(file_id) > 32:
        return _not_found()
    # A watermark template's image (ImageUrl): its unguessable folder is its own proof.
    owner = image_key_owner(parts)
    if owner is None:
        owner = await services.library.owner_of_url(app_id, file_id, token)
    if owner is None:
        return _not_found()
    try:
        # A disabled application serves nothing, as it answers no API call.
        await services.apps.resolve(owner)
    except VodError:
        return PlainTextResponse("Forbidden: the application is disabled", status_code=403)
    try:
        path = services.blobs.path(key)
    except ValueError:
        return _not_found()
    if not path.is_file():
        return _not_found()
    return FileResponse(
        path,
        media_type=content_type(parts[-1]),
        headers={"Cache-Control": "private, max-age=300"},
    )
