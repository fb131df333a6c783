"""Server-side dashboard charts: plain data in, SVG text out (matplotlib's Agg-free SVG backend).

No Django here. Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so rendering keeps
no global state and is safe in threaded servers. Text stays text in the SVG (``svg.fonttype: none``),
which keeps each chart small and lets the browser's fonts draw it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

PALETTE = [
    "#2f6fde",
    "#1f8a4c",
    "#b7791f",
    "#c53030",
    "#6b46c1",
    "#0f7b8a",
    "#d53f8c",
    "#5b6475",
    "#975a16",
    "#2c7a7b",
    "#9b2c2c",
]
_RC = {
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#9aa3b2",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    # User text (label names, usernames) is never parsed as TeX: "$\\frac{a}{$" made mathtext raise (a 500).
    "text.parse_math": False,
    "text.usetex": False,
}


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype so it can sit inline in HTML


def _figure(width=5.2, height=2.8):
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height))
        return fig, fig.add_subplot()


def _xticks(ax, labels):
    crowded = len(labels) > 6 or sum(len(str(lb)) for lb in labels) > 40
    ax.set_xticks(range(len(labels)), labels, rotation=30 if crowded else 0, ha="right" if crowded else "center")


def _legend(ax, n):
    ax.set_ylim(top=ax.get_ylim()[1] * 1.25)  # head room so the legend never sits on the data
    ax.legend(frameon=False, fontsize=8, ncols=min(n, 3), loc="upper right")


def _empty(ax, message="No data yet"):
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#5b6475", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    ylabel: str = "",
    horizontal: bool = False,
    color: str = PALETTE[0],
) -> str:
    """One series of bars (horizontal for long category names)."""
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(height=max(2.4, 0.28 * len(labels) + 0.8) if horizontal else 2.8)
        ax.set_title(title, loc="left")
        if not labels or not any(values):
            _empty(ax)
        elif horizontal:
            positions = range(len(labels))
            ax.barh(positions, values, color=color)
            ax.set_yticks(list(positions), labels)
            ax.invert_yaxis()
            ax.set_xlabel(ylabel)
        else:
            ax.bar(range(len(labels)), values, color=color)
            _xticks(ax, labels)
            ax.set_ylabel(ylabel)
        return _svg(fig)


def grouped_bars(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], *, ylabel: str = "", stacked: bool = True
) -> str:
    """Several series over the same categories, stacked (default) or side by side."""
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        ax.set_title(title, loc="left")
        if not labels or not any(any(v) for v in series.values()):
            _empty(ax)
            return _svg(fig)
        n = len(series)
        width = 0.8 if stacked else 0.8 / max(n, 1)
        bottom = [0.0] * len(labels)
        for i, (name, values) in enumerate(series.items()):
            x = [j + (0 if stacked else (i - (n - 1) / 2) * width) for j in range(len(labels))]
            ax.bar(x, values, width, bottom=bottom if stacked else None, label=name, color=PALETTE[i % len(PALETTE)])
            if stacked:
                bottom = [b + v for b, v in zip(bottom, values)]
        _xticks(ax, labels)
        ax.set_ylabel(ylabel)
        _legend(ax, n)
        return _svg(fig)


def lines_over_time(title: str, days: Sequence, series: Mapping[str, Sequence[float]], *, ylabel: str = "") -> str:
    """Daily counts per series (e.g. QA flags per day)."""
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        ax.set_title(title, loc="left")
        shown = {k: v for k, v in series.items() if any(v)}
        if not days or not shown:
            _empty(ax, "No flags yet" if "flag" in title.lower() else "No data yet")
            return _svg(fig)
        for i, (name, values) in enumerate(shown.items()):
            ax.plot(days, values, marker="o", markersize=3, label=name, color=PALETTE[i % len(PALETTE)])
        ax.set_ylabel(ylabel)
        # The axis spans the data's days (half a day either side), with at most 8 day ticks: matplotlib's
        # automatic limits for a single day span years.
        first, last = min(days), max(days)
        ax.set_xlim(mdates.date2num(first) - 0.5, mdates.date2num(last) + 0.5)
        span = (last - first).days + 1
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, -(-span // 8))))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y" if span <= 8 else "%d %b"))
        ax.yaxis.get_major_locator().set_params(integer=True)
        _legend(ax, len(shown))
        fig.autofmt_xdate()
        return _svg(fig)


def scatter_annotators(
    title: str, names: Sequence[str], throughput: Sequence[float], agreement: Sequence[float | None]
) -> str:
    """Annotators placed by throughput (x) and agreement with peers (y).

    An annotator with no peers to compare with has no agreement at all: no point is drawn (an F1 of 0
    would read as total disagreement); they are named under the chart as "n/a (no peers yet)".
    """
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        ax.set_title(title, loc="left")
        if not names:
            _empty(ax)
            return _svg(fig)
        placed = [(n, x, y) for n, x, y in zip(names, throughput, agreement) if y is not None]
        missing = [n for n, y in zip(names, agreement) if y is None]
        if placed:
            ax.scatter([x for _, x, _ in placed], [y for _, _, y in placed], color=PALETTE[0])
        for name, x, y in placed:
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=8)
        if missing:
            ax.text(
                0.0,
                -0.32,
                "n/a (no peers yet): " + ", ".join(missing),
                transform=ax.transAxes,
                fontsize=8,
                color="#5b6475",
            )
        ax.set_xlabel("hours submitted")
        ax.set_xlim(left=0, right=max(throughput) * 1.25 or 1)
        ax.set_ylabel("region F1 vs peers")
        ax.set_ylim(-0.05, 1.05)
        return _svg(fig)
