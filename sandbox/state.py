"""A sandbox's state on disk, so the stores `make run` left behind are still there after a restart.

One JSON file per sandbox, loaded when the sandbox starts and replaced after every change: the new
state is written to a temporary file beside it, then `os.replace` swaps it in, so a crash half-way
leaves the previous state whole. Decimals (Shopify's prices) come back as Decimals. Without a
state file (tests, benchmarks) a sandbox lives in memory only.
"""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

DECIMAL_TAG = "__decimal__"


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {DECIMAL_TAG: str(value)}
    raise TypeError(f"A sandbox cannot save {type(value).__name__} values: {value!r}")


def _decode(mapping: dict[str, Any]) -> Any:
    if mapping.keys() == {DECIMAL_TAG}:
        return Decimal(mapping[DECIMAL_TAG])
    return mapping


def int_keys(mapping: dict[str, Any]) -> dict[int, Any]:
    """JSON object keys are strings: give back the integer ids WooCommerce's records use."""
    return {int(key): value for key, value in mapping.items()}


class StateFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._saved = ""  # the text on disk, so an unchanged state is not written again

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when nothing was saved yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        self._saved = text
        return json.loads(text, object_hook=_decode)

    def save(self, state: dict[str, Any]) -> None:
        text = json.dumps(state, default=_encode)
        if text == self._saved:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._saved = text
