"""Per SecretId and action request limit (Tencent: 100/s for most actions).

A token bucket per key, in memory: each API replica enforces its own share, which
is what a limiter in front of several replicas would do per connection anyway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

SPECIAL_RATES = {"DescribeEventsState": 20.0}


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def allow(self, secret_id: str, action: str) -> bool:
        if self.rate <= 0:
            return True
        rate = min(self.rate, SPECIAL_RATES.get(action, self.rate))
        now = time.monotonic()
        bucket = self._buckets.get((secret_id, action))
        if bucket is None:
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            bucket = self._buckets[(secret_id, action)] = _Bucket(rate, now)
        bucket.tokens = min(rate, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True
