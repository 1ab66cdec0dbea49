"""errors.preview: what a malformed frame's error message shows of the bad value."""

from __future__ import annotations

from typing import Any

from horizon_flow_core.errors import preview


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_deep_nesting_does_not_recurse() -> None:
    # repr() of this raises RecursionError; orjson decodes nesting up to 1024
    shown = preview(nested(5000))
    assert shown.startswith("[[[") and len(shown) <= 40


def test_huge_integers_are_described_not_printed() -> None:
    # repr() refuses ints of more than 4300 digits
    assert preview(10**5000) == f"<{(10**5000).bit_length()}-bit integer>"
    assert preview(2**64) == str(2**64)


def test_values_are_cut_to_the_limit() -> None:
    assert preview("x" * 10_000, 20) == "'" + "x" * 19
    assert preview({"a": 1}) == "{'a': 1}"
    assert preview(float("nan")) == "nan" and preview(None) == "None"


def test_an_object_that_cannot_print_itself() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert preview(Broken()).startswith("<Broken")
