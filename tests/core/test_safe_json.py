"""The safe JSON loader refuses NUL wherever it hides and nesting past the limit, whichever way
the check walks the payload (strings are only walked when the text holds a \\u0000 escape)."""

import json

import pytest

from dropship.core.safe_json import MAX_DEPTH, BadJson, load_json

NUL = "The body contains a NUL character (\\u0000)."


@pytest.mark.parametrize(
    "body",
    [
        b'{"order": {"lines": [{"title": "a\\u0000b"}]}}',  # deep in a value
        b'{"order": {"a\\u0000": 1}}',  # in a key
        '{"order": ["x\\u0000"]}',  # a str body
        json.dumps({"order": {"note": "a\x00b"}}).encode("utf-16"),  # JSON in UTF-16
    ],
    ids=["value", "key", "str", "utf-16"],
)
def test_a_nul_anywhere_is_refused(body):
    with pytest.raises(BadJson) as refused:
        load_json(body)

    assert refused.value.message == NUL


def test_an_escaped_backslash_before_u0000_is_text_not_nul():
    assert load_json(b'{"path": "C:\\\\u0000"}') == {"path": "C:\\u0000"}


@pytest.mark.parametrize(
    "innermost",
    ['"C:\\\\u0000"', '"plain"'],  # an escaped backslash before u0000: no NUL, strings walked
    ids=["strings-walked", "containers-only"],
)
def test_nesting_is_refused_one_level_past_the_limit(innermost):
    def nested(depth: int) -> str:
        return "[" * depth + innermost + "]" * depth

    assert load_json(nested(MAX_DEPTH)) is not None
    with pytest.raises(BadJson) as refused:
        load_json(nested(MAX_DEPTH + 1))

    assert refused.value.message == f"The body is nested too deeply (more than {MAX_DEPTH} levels)."
