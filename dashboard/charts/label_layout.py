"""Where to write the names of points on a scatter plot so that they do not run into each other.

Plotly places an annotation where it is told and never moves it, so eight clinics of similar size on a
funnel plot wrote their names over each other ("Salt Lake City Mood & WellnessKetamine Institute, New
York"). This picks, for each name in turn, the side of its dot (right or left; above, level or below,
one or two lines away) whose box overlaps least with the names already placed, the dots, and the plot's
edges. Boxes are estimated in pixels for a plot of the narrowest width the chart is drawn at (a board
pack's half page), so a wider screen only adds room.
"""

from __future__ import annotations

from dataclasses import dataclass

CHAR_PX = 5.4  # average advance of a 10 px sans-serif character (Source Sans runs about 4.6)
LINE_PX = 14.0  # height of one line of 10 px text with its padding
STEP_PX = 17.0  # from one line away to the next (a leader line takes a few pixels of its own)
GAP_PX = 8.0  # between a dot's centre and the start of its name
DOT_PX = 6.0  # a marker's radius (size 11) plus its white outline
NEAR_PX = 16.0  # closer than this to another dot, a name may be read as that dot's


@dataclass(frozen=True)
class Placement:
    """Keyword arguments for fig.add_annotation beside the point (x, y)."""

    xanchor: str
    yanchor: str
    xshift: float
    yshift: float

    @property
    def away(self) -> bool:
        """A line or more from its dot: drawn with a thin leader line so it still points at its dot."""
        return abs(self.yshift) > 3.0 + 1e-9

    def as_kwargs(self, colour: str = "#5B6675") -> dict:
        if not self.away:
            return {"xanchor": self.xanchor, "yanchor": self.yanchor, "xshift": self.xshift, "yshift": self.yshift,
                    "showarrow": False}
        # With an arrow, (ax, ay) moves the name by pixels (ay grows downwards) and the anchors say which
        # corner of its box the line leaves from: the same box as without one.
        return {"xanchor": self.xanchor, "yanchor": self.yanchor, "showarrow": True, "axref": "pixel",
                "ayref": "pixel", "ax": self.xshift, "ay": -self.yshift, "arrowhead": 0, "arrowwidth": 0.8,
                "arrowcolor": colour, "standoff": DOT_PX}


def _candidates(prefer_right: bool, prefer_above: bool) -> list[tuple[Placement, float]]:
    """Each position a name may take, with the small cost of moving it from the preferred one: beside
    its dot: level with it, just above or below it, or one or two lines further up or down."""
    out = []
    for right in (prefer_right, not prefer_right):
        side_cost = 0.0 if right == prefer_right else 1.0
        xanchor, xshift = ("left", GAP_PX) if right else ("right", -GAP_PX)
        out.append((Placement(xanchor, "middle", xshift, 0.0), side_cost + 0.5))
        for lines, cost in ((0, 0.0), (1, 2.0), (2, 4.0)):
            for above in (True, False):
                up = 3.0 + lines * STEP_PX
                out.append((Placement(xanchor, "bottom" if above else "top", xshift, up if above else -up),
                            side_cost + cost + (0.0 if above == prefer_above else 0.3)))
    return out


def _box(px: float, py: float, text: str, p: Placement) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in pixels, y growing downwards, of the name placed by p at (px, py)."""
    width = CHAR_PX * len(text) + 10.0  # with a little room either side
    left = px + p.xshift if p.xanchor == "left" else px + p.xshift - width
    anchor_y = py - p.yshift  # yshift > 0 moves the text up the screen
    top = {"bottom": anchor_y - LINE_PX, "middle": anchor_y - LINE_PX / 2, "top": anchor_y}[p.yanchor]
    return left, top, left + width, top + LINE_PX


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(points: list[tuple[float, float, str]], x_range: tuple[float, float], y_range: tuple[float, float],
                 width_px: float = 560.0, height_px: float = 236.0) -> list[Placement]:
    """One placement per (x, y, name), in the order given; names are placed from the most crowded dot out."""
    (x0, x1), (y0, y1) = x_range, y_range
    sx = width_px / ((x1 - x0) or 1.0)
    sy = height_px / ((y1 - y0) or 1.0)
    pixels = [((x - x0) * sx, (y1 - y) * sy) for x, y, _ in points]
    dots = [(px - DOT_PX, py - DOT_PX, px + DOT_PX, py + DOT_PX) for px, py in pixels]
    # A name that starts right beside another clinic's dot reads as that clinic's: keep a margin.
    near = [(px - NEAR_PX, py - NEAR_PX, px + NEAR_PX, py + NEAR_PX) for px, py in pixels]
    plot = (0.0, 0.0, width_px, height_px)

    def crowding(i: int) -> float:
        px, py = pixels[i]
        return sum(1.0 for j, (qx, qy) in enumerate(pixels) if j != i and abs(qx - px) < 200 and abs(qy - py) < 30)

    def options(i: int) -> list[tuple[Placement, float]]:
        # A name runs away from the nearer side edge, and above its dot when the dot is above the
        # middle of the plot's height, so most names need no second look.
        return _candidates(prefer_right=pixels[i][0] <= width_px / 2, prefer_above=pixels[i][1] >= height_px / 2)

    def cost(i: int, placement: Placement, shift_cost: float, others: list) -> tuple[float, tuple]:
        box = _box(*pixels[i], points[i][2], placement)
        area = (box[2] - box[0]) * (box[3] - box[1])
        return (shift_cost
                + 10.0 * sum(_overlap(box, other) for other in others) / LINE_PX
                + 5.0 * sum(_overlap(box, d) for j, d in enumerate(dots) if j != i) / LINE_PX
                + 1.0 * sum(_overlap(box, d) for j, d in enumerate(near) if j != i) / LINE_PX
                + 10.0 * (area - _overlap(box, plot)) / LINE_PX), box  # outside the plot: cut off

    def best_for(i: int, others: list) -> tuple[float, Placement, tuple]:
        scored = [(*cost(i, placement, shift, others), placement) for placement, shift in options(i)]
        value, box, placement = min(scored, key=lambda c: c[0])  # the first of equals, as listed
        return value, placement, box

    # Greedy from the most crowded dot out, then a few rounds in which each name moves to its best
    # place given all the others (a name placed early could not see the ones placed after it).
    boxes: dict[int, tuple[float, float, float, float]] = {}
    chosen: dict[int, Placement] = {}
    for i in sorted(range(len(points)), key=lambda k: (-crowding(k), points[k][0])):
        _, chosen[i], boxes[i] = best_for(i, list(boxes.values()))
    for _ in range(3):
        moved = False
        for i in range(len(points)):
            others = [b for j, b in boxes.items() if j != i]
            value, placement, box = best_for(i, others)
            now = cost(i, chosen[i], dict(options(i))[chosen[i]], others)[0]
            if placement != chosen[i] and value < now - 1e-9:
                chosen[i], boxes[i], moved = placement, box, True
        if not moved:
            break
    return [chosen[i] for i in range(len(points))]


def overlapping_pairs(points: list[tuple[float, float, str]], placements: list[Placement],
                      x_range: tuple[float, float], y_range: tuple[float, float],
                      width_px: float = 560.0, height_px: float = 236.0) -> list[tuple[str, str]]:
    """The pairs of names whose estimated boxes overlap (for tests and for a reader of this module)."""
    (x0, x1), (y0, y1) = x_range, y_range
    sx, sy = width_px / ((x1 - x0) or 1.0), height_px / ((y1 - y0) or 1.0)
    boxes = [_box((x - x0) * sx, (y1 - y) * sy, t, p) for (x, y, t), p in zip(points, placements, strict=True)]
    return [(points[a][2], points[b][2]) for a in range(len(boxes)) for b in range(a + 1, len(boxes))
            if _overlap(boxes[a], boxes[b]) > 0]
