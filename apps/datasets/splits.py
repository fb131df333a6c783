"""The release split code lives in apps/core/splits.py (learning, below datasets, splits its held-out set with it)."""

from apps.core.splits import (  # noqa: F401
    DEFAULT_RATIOS,
    MAX_REFINE_PASSES,
    SPLIT_NAMES,
    LeakagePair,
    SplitItem,
    assign_splits,
    empty_split_warnings,
    leakage_warnings,
    split_stats,
    validate_ratios,
)
