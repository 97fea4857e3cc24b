"""Where a media's blobs live, and the URLs vodflow serves them under.

Everything made from one media sits in one folder whose name carries an
unguessable token, so URLs cannot be enumerated and deleting the media is
removing one folder.
"""

from __future__ import annotations

import re
from urllib.parse import quote

SERVE_PREFIX = "/vod/"
# What `quote` leaves as it is (its always-safe characters and "/"): the blob keys
# vodflow makes are all such, and a fullmatch costs a third of quote's call.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~/-]*")


def media_dir(app_id: int, file_id: str, url_token: str) -> str:
    return f"{app_id}/{file_id}/{url_token}"


def url_for(public_url: str, key: str) -> str:
    path = key if _UNQUOTED.fullmatch(key) else quote(key)
    return f"{public_url.rstrip('/')}{SERVE_PREFIX}{path}"
