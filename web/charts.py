"""Small server-rendered charts (SVG in the page, no script, no chart library)."""

from dataclasses import dataclass

WIDTH, HEIGHT, GAP = 600, 160, 6


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str
    value: int


def bars(series, *, width=WIDTH, height=HEIGHT, label_format="%m.%y"):
    """Bars for (date, value) pairs, scaled to the largest; labels are month numbers (or
    ``label_format`` of the date)."""
    top = max((value for _day, value in series), default=0) or 1
    slot = width // max(len(series), 1)
    result = []
    for i, (day, value) in enumerate(series):
        h = round(value * (height - 20) / top)
        result.append(
            Bar(
                x=i * slot + GAP // 2,
                y=height - 20 - h,
                width=slot - GAP,
                height=h,
                label=day.strftime(label_format),
                value=value,
            )
        )
    return {"bars": result, "width": width, "height": height}
