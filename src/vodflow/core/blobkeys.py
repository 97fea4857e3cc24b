"""Where a media's blobs live, and the URLs vodflow serves them under.

Everything made from one media sits in one folder whose name carries an
unguessable token, so URLs cannot be enumerated and deleting the media is
removing one folder.
"""

from __future__ import annotations

from urllib.parse import quote

SERVE_PREFIX = "/vod/"


def media_dir(app_id: int, file_id: str, url_token: str) -> str:
    return f"{app_id}/{file_id}/{url_token}"


def url_for(public_url: str, key: str) -> str:
    return f"{public_url.rstrip('/')}{SERVE_PREFIX}{quote(key)}"
