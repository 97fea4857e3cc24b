"""url_for skips `quote` for keys it would leave as they are: the URL is quote's."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from vodflow.core.blobkeys import SERVE_PREFIX, url_for

KEYS = [
    "1250000000/2252377922677606094/9151ff3dedfce5c79a74897c6a574258/4d932a423853.mp4",
    "a/b_c.d-e~f/snapshot.f10/snapshot_0.jpg",
    "",
    "a b/c.mp4",
    "a%20b",
    "中文/名字.mp4",
    "é.vtt",
    "a+b=c&d?e#f",
    "a:b;c@d!e*f'g(h)i,j$",
    "tab\there\n",
    "ＡＢＣ１２３",  # fullwidth letters and digits: not ASCII, quoted
    "/leading/and/trailing/",
]


@pytest.mark.parametrize("key", KEYS)
def test_the_url_is_the_quoted_key(key: str) -> None:
    for base in ("http://127.0.0.1:8080", "https://cdn.example.com/"):
        assert url_for(base, key) == f"{base.rstrip('/')}{SERVE_PREFIX}{quote(key)}"
