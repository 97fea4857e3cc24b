"""A short memory of TC3 signatures, so that a captured request cannot be sent again.

Tencent's scheme accepts a signed request for 5 minutes either side of its
X-TC-Timestamp, and the SDKs sign only `content-type;host` and the body: the
same bytes may be sent again within that window, even under another
X-TC-Action. vodflow remembers when it first saw each signature, until the
signature's timestamp leaves the window, and refuses a repeat that comes more
than a short grace (`VODFLOW_REPLAY_GRACE_S`, 5 s) after the first sighting when
the action is non-idempotent (`NON_IDEMPOTENT`) and the request has no SessionId
(a SessionId already makes a repeat fail, with the action's own code).

Why the grace: the SDKs sign with a one-second timestamp and no nonce, so two
byte-identical requests sent in the same second (a loop creating 16 identical
templates, a batch of ApplyUploads) carry the same signature and are
indistinguishable from a replay; they all arrive within moments of each other.
A replay later than that is refused.

The memory is per process: in a scaled deployment a replay sent to another
replica is not caught (docs/operations.md). It is bounded (`MAX_ENTRIES`); when
full, the oldest signatures are forgotten first.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Final

from vodflow.api.auth import MAX_SKEW_S

MAX_ENTRIES: Final = 200_000
NON_IDEMPOTENT: Final = frozenset(
    {
        "ApplyUpload",
        "CreateTempCredential",
        "PullEvents",
        "PullUpload",
        "ProcessMedia",
        "ProcessMediaByProcedure",
        "RedeliverEvents",
        "CreateSubAppId",
        "CreateProcedureTemplate",
        "CreateTranscodeTemplate",
        "CreateSnapshotByTimeOffsetTemplate",
        "CreateSampleSnapshotTemplate",
        "CreateImageSpriteTemplate",
        "CreateAnimatedGraphicsTemplate",
        "CreateAdaptiveDynamicStreamingTemplate",
    }
)


def guarded(action: str, session_id: str | None) -> bool:
    """Whether a repeated signature must be refused for this request."""
    return action in NON_IDEMPOTENT and not session_id


class ReplayCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._seen: OrderedDict[str, tuple[float, float]] = OrderedDict()
        # Until when the first entry stays (nothing to forget before then).
        self._front_expires = -math.inf

    def first_seen(self, signature: str, timestamp: int, now: float) -> float:
        """When `signature` was first seen (`now` if this is the first time)."""
        if now > self._front_expires:
            self._forget(now)
        known = self._seen.get(signature)
        if known is not None:
            return known[0]
        self._seen[signature] = (now, timestamp + MAX_SKEW_S + 1.0)
        if len(self._seen) == 1:
            self._front_expires = -math.inf  # a new first entry
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
            self._front_expires = -math.inf
        return now

    def _forget(self, now: float) -> None:
        # Entries arrive roughly in timestamp order: drop expired ones from the front.
        while self._seen:
            signature, (_, expires) = next(iter(self._seen.items()))
            if expires >= now:
                self._front_expires = expires
                return
            del self._seen[signature]

    def __len__(self) -> int:
        return len(self._seen)
