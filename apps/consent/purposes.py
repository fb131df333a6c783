from django.db import models


class Purpose(models.TextChoices):
    """The fixed vocabulary of what a recording may be used for."""

    STORE = "store", "Store"
    ANNOTATE = "annotate", "Annotate"
    REVIEW = "review", "Review"
    TRAIN_MODELS = "train_models", "Train models"
    PUBLIC_RELEASE = "public_release", "Public release"
    COMMERCIAL = "commercial", "Commercial use"


# Purposes are stored as bits so that "does this grant cover everything the
# project needs for P?" is one integer test inside the selector's EXISTS query
# (works the same on SQLite and PostgreSQL; JSON containment does not).
PURPOSE_BITS = {purpose.value: 1 << i for i, purpose in enumerate(Purpose)}
ALL_PURPOSES_MASK = sum(PURPOSE_BITS.values())


def purposes_to_mask(purposes) -> int:
    """Bit mask of a list of purpose names; unknown names raise ValueError naming them."""
    unknown = sorted({str(p) for p in purposes} - set(PURPOSE_BITS))
    if unknown:
        raise ValueError(f"unknown purpose(s): {', '.join(unknown)}; use {', '.join(PURPOSE_BITS)}")
    mask = 0
    for purpose in purposes:
        mask |= PURPOSE_BITS[str(purpose)]
    return mask


def mask_to_purposes(mask: int) -> list[str]:
    """Purpose names in a mask, in vocabulary order."""
    return [name for name, bit in PURPOSE_BITS.items() if mask & bit]
