"""Server-side SVG chart geometry: the template draws shapes from these numbers, no script, no
CDN. Every chart is shown with its data table beside it, so the SVG itself is decorative to a
screen reader (aria-hidden) and the table carries the figures."""

from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT, PAD = 600, 200, 10


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # "x,y x,y ..." for <polyline>


@dataclass(frozen=True)
class Bar:
    label: str
    x: int
    y: int
    width: int
    height: int
    is_negative: bool


def _scale(low: Decimal, high: Decimal):
    span = (high - low) or Decimal(1)

    def y(value: Decimal) -> int:
        return round(PAD + (high - value) / span * (HEIGHT - 2 * PAD))

    return y


def line_chart(series: dict[str, list[Decimal]]) -> tuple[list[Line], int]:
    """Polylines for series of equal length on one scale (zero always shown); and zero's y."""
    values = [v for vs in series.values() for v in vs] + [Decimal(0)]
    y = _scale(min(values), max(values))
    count = max((len(vs) for vs in series.values()), default=0)
    step = (WIDTH - 2 * PAD) / max(count - 1, 1)
    lines = [
        Line(name, " ".join(f"{round(PAD + i * step)},{y(v)}" for i, v in enumerate(vs)))
        for name, vs in series.items()
    ]
    return lines, y(Decimal(0))


def bar_chart(rows: list[tuple[str, Decimal]]) -> tuple[list[Bar], int]:
    """Vertical bars from a zero line (negative values hang below it); and zero's y."""
    values = [v for _, v in rows] + [Decimal(0)]
    y = _scale(min(values), max(values))
    zero = y(Decimal(0))
    slot = (WIDTH - 2 * PAD) // max(len(rows), 1)
    bars = []
    for index, (label, value) in enumerate(rows):
        top, bottom = sorted((y(value), zero))
        bars.append(
            Bar(
                label,
                PAD + index * slot + 2,
                top,
                max(slot - 4, 1),
                max(bottom - top, 1),
                value < 0,
            )
        )
    return bars, zero
