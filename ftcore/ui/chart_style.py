"""Where the app's charts put their legends: beside the axes, never over a bar."""

from __future__ import annotations


def legend_beside(axis, title: str | None = None) -> None:
    """Draw `axis`'s legend to the right of its plot area. The figure needs a layout that
    makes room for it (layout="constrained"), or the legend is cut off at the edge."""
    axis.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
