from django.db import models


class Purpose(models.TextChoices):
    """The fixed vocabulary of what a recording may be used for."""

    STORE = "store", "Store"
    ANNOTATE = "annotate", "Annotate"
    REVIEW = "review", "Review"
    TRAIN_MODELS = "train_models", "Train models"
    PUBLIC_RELEASE = "public_release", "Public release"
    COMMERCIAL = "commercial", "Commercial use"
