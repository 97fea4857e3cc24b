"""AnswerMemo: renders once per source, answers what the envelope would encode, bounded."""

from __future__ import annotations

import json
from typing import Any

from vodflow.api.answer_memo import AnswerMemo
from vodflow.api.envelope import RawPayload, ok_body


def _render_counting(calls: list[Any]) -> Any:
    def render(source: tuple[Any, ...]) -> dict[str, Any]:
        calls.append(source)
        return {"Name": source[0], "Values": list(source[1:]), "Text": 'ü "q" \u2028'}

    return render


def test_one_render_per_source_and_the_envelope_bytes() -> None:
    calls: list[Any] = []
    render = _render_counting(calls)
    memo = AnswerMemo(render)
    first = memo.answer(("a", 1, 2.5, None))
    assert isinstance(first, RawPayload)
    assert memo.answer(("a", 1, 2.5, None)) == first
    assert len(calls) == 1
    # The same bytes as the dict answer through the envelope.
    assert ok_body(first, "r") == ok_body(render(("a", 1, 2.5, None)), "r")
    assert json.loads(ok_body(first, "r"))["Response"]["Values"] == [1, 2.5, None]
    memo.answer(("a", 1, 2.5, 0))  # another source: rendered
    assert len(calls) == 3


def test_bounded_by_entries_oldest_first_and_by_size() -> None:
    calls: list[Any] = []
    memo = AnswerMemo(_render_counting(calls), max_entries=3, max_bytes=200)
    for n in range(5):
        memo.answer((f"k{n}",))
    assert len(memo) == 3
    calls.clear()
    memo.answer(("k4",))
    assert calls == []  # still remembered
    memo.answer(("k0",))
    assert calls == [("k0",)]  # the oldest went first
    big = ("x" * 500,)
    memo.answer(big)
    memo.answer(big)
    assert calls.count(big) == 2  # over max_bytes: never kept


def test_a_source_holding_much_text_is_not_kept() -> None:
    calls: list[Any] = []
    render = _render_counting(calls)
    memo = AnswerMemo(lambda source: render(source[:1]), max_bytes=300)
    wide = ("k", (("x" * 200,), (b"y" * 200,)))  # a small answer from a large key
    memo.answer(wide)
    memo.answer(wide)
    assert len(calls) == 2 and len(memo) == 0
    narrow = ("k", (("x" * 20,), (b"y" * 20,)))
    memo.answer(narrow)
    memo.answer(narrow)
    assert len(calls) == 3 and len(memo) == 1
