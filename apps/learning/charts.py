"""The model page's plots: confusion matrix, per-class precision/recall, training curve (SVG text).

Built like the review dashboard's charts (matplotlib Figure, no pyplot). Label names are user text, so
``text.parse_math`` is off for every figure: a label like "$x$" is drawn as typed, never as mathtext.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from apps.review.charts import _RC, PALETTE, _empty, _svg, _xticks  # noqa: E402

RC = {**_RC, "text.parse_math": False}


def confusion_chart(names: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    """Rows: the true label; columns: the predicted one; each cell's count written in it."""
    with matplotlib.rc_context(RC):
        size = max(3.0, 0.45 * len(names) + 1.6)
        fig = Figure(figsize=(size + 0.8, size))
        ax = fig.add_subplot()
        ax.set_title("Confusion matrix (held-out)", loc="left")
        if not names or not matrix:
            _empty(ax)
            return _svg(fig)
        image = ax.imshow(matrix, cmap="Blues")
        ticks = list(range(len(names)))
        ax.set_xticks(ticks, names, rotation=45, ha="right")
        ax.set_yticks(ticks, names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        top = max((max(row) for row in matrix), default=0) or 1
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                ax.text(
                    j,
                    i,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="#fff" if value > top / 2 else "#1a202c",
                )
        fig.colorbar(image, ax=ax, shrink=0.7)
        return _svg(fig)


def per_class_chart(names: Sequence[str], precision: Sequence[float], recall: Sequence[float]) -> str:
    """Precision and recall side by side per label."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(5.2, 2.8))
        ax = fig.add_subplot()
        ax.set_title("Precision and recall per label (held-out)", loc="left")
        if not names:
            _empty(ax)
            return _svg(fig)
        width = 0.4
        ax.bar([i - width / 2 for i in range(len(names))], precision, width, label="precision", color=PALETTE[0])
        ax.bar([i + width / 2 for i in range(len(names))], recall, width, label="recall", color=PALETTE[1])
        _xticks(ax, names)
        ax.set_ylim(0, 1.25)
        ax.legend(frameon=False, fontsize=8, ncols=2, loc="upper right")
        return _svg(fig)


def curve_chart(curve: Sequence[dict]) -> str:
    """Held-out accuracy (and training loss, for the CNN) over epochs or training-set size."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(5.2, 2.8))
        ax = fig.add_subplot()
        ax.set_title("Training curve", loc="left")
        points = [p for p in curve if p.get("accuracy") is not None or p.get("train_loss") is not None]
        if not points:
            _empty(ax, "No curve recorded")
            return _svg(fig)
        xs = [p["step"] for p in points]
        if any(p.get("accuracy") is not None for p in points):
            ax.plot(
                xs,
                [p.get("accuracy") for p in points],
                marker="o",
                markersize=3,
                color=PALETTE[0],
                label="held-out accuracy",
            )
            ax.set_ylim(0, 1.05)
            ax.set_ylabel("accuracy")
        ax.set_xlabel(points[0].get("unit", "step"))
        if any(p.get("train_loss") is not None for p in points):
            twin = ax.twinx()
            twin.plot(xs, [p.get("train_loss") for p in points], color=PALETTE[2], label="training loss")
            twin.set_ylabel("loss")
            twin.spines["top"].set_visible(False)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        return _svg(fig)
