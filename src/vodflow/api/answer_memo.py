"""Answers of a read action remembered by what they were made from.

A client polling DescribeTaskDetail reads the same rows again and again until the
task changes. The rows are read on every request (the database is the truth, and the
application's scope is checked by that read); what a memo spares is the pure work
after it: decoding the stored JSON, building the answer, encoding it.

The key is the whole of what the answer is made from (`render` must be a pure
function of it): the rows as they came from the database, JSON as its stored text.
A memo therefore cannot answer for data that changed: changed rows are another key,
answered afresh. Bounded: at most `max_entries` answers (the oldest dropped first),
none kept whose answer or key holds over `max_bytes` (a key can hold stored text the
answer does not show).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from vodflow.api.envelope import members

K = TypeVar("K", bound=Hashable)


class AnswerMemo(Generic[K]):
    def __init__(
        self,
        render: Callable[[K], dict[str, Any]],
        *,
        encode: Callable[[dict[str, Any]], bytes] = members,
        max_entries: int = 256,
        max_bytes: int = 32 * 1024,
    ) -> None:
        self.render = render
        self.encode = encode
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._answers: dict[K, bytes] = {}

    def answer(self, source: K) -> bytes:
        """The answer made from `source` (`encode`d, by default a Response's members
        for `RawPayload`): remembered, or rendered and encoded now."""
        found = self._answers.get(source)
        if found is not None:
            return found
        payload = self.encode(self.render(source))
        if len(payload) <= self.max_bytes and _text_size(source, self.max_bytes) <= self.max_bytes:
            if len(self._answers) >= self.max_entries:
                del self._answers[next(iter(self._answers))]  # the oldest
            self._answers[source] = payload
        return payload

    def __len__(self) -> int:
        return len(self._answers)


def _text_size(value: object, limit: int) -> int:
    """The characters of text (and bytes) in `value`, tuples walked; counting stops past
    `limit`."""
    if isinstance(value, str | bytes):
        return len(value)
    if not isinstance(value, tuple):
        return 0
    total = 0
    for item in value:
        total += _text_size(item, limit - total)
        if total > limit:
            break
    return total
