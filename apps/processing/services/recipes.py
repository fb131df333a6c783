"""Recipes: validate a spec into its canonical form, hash it, store it, make it a project's active one."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core.errors import DomainError
from apps.processing.dsp.augment import validate_spec as augment_validate_spec
from apps.processing.dsp.preprocess import LengthPolicy
from apps.processing.models import ProjectProcessing, Recipe

SPEC_VERSION = 1

# Artifact groups a recipe may ask for. "processed_audio" (stored as kind "audio": FLAC at the recipe's rate)
# feeds releases. "qa" and "fingerprint" are opt-in copies: review's qa_on_processed measures the original.
ARTIFACT_GROUPS = (
    "peaks",
    "voiced_segments",
    "tiles",
    "spectrogram",
    "mel",
    "mfcc",
    "chroma",
    "previews",
    "qa",
    "fingerprint",
    "processed_audio",
)
DEFAULT_ARTIFACTS = tuple(g for g in ARTIFACT_GROUPS if g not in ("qa", "fingerprint"))
FEATURE_GROUPS = ("spectrogram", "mel", "mfcc", "chroma")

_SPEC_AUGMENT_PARAMS = {
    "n_freq_masks": int,
    "freq_mask_param": int,
    "n_time_masks": int,
    "time_mask_param": int,
    "max_time_fraction": float,
    "mask_value": (float, str),
}

# Chroma's automatic tuning estimate costs about half the feature pipeline, so the default is a fixed
# 0.0 (A440); "estimate" estimates once per recording and stores the value in the chroma artifact's meta.
BUILTIN_DEFAULT: dict[str, Any] = {
    "version": SPEC_VERSION,
    "target_sample_rate": 16000,
    "channels": "mono",
    "trim": None,
    "normalise": None,
    "length": {"mode": "none"},
    "features": {
        "n_fft": 512,
        "hop_length": 160,
        "win_length": None,
        "n_mels": 80,
        "fmin": 0.0,
        "fmax": None,
        "n_mfcc": 20,
        "deltas": False,
        "chroma_tuning": 0.0,
        "top_db": 80.0,
    },
    "feature_dtype": "float32",
    "voiced": {"top_db": 40.0, "min_silence_s": 0.3, "min_segment_s": 0.1},
    "peaks": {"samples_per_pixel": [256, 2048, 16384], "bits": 16},
    "tiles": {"seconds_per_tile": [10.0, 60.0, 600.0], "tile_width": 512, "height": 128, "fmax": None},
    "augmentations": [],
    "seed": 0,
    "artifacts": list(DEFAULT_ARTIFACTS),
}


class RecipeError(DomainError):
    """A recipe spec that cannot be used; the message names the field and the problem."""


def _fail(path: str, problem: str) -> None:
    raise RecipeError(f"Recipe field '{path}' {problem}.")


def _number(
    value: Any,
    path: str,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    exclusive_low: bool = False,
) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(path, f"must be a {'whole ' if integer else ''}number, not {value!r}")
    if integer and float(value) != int(value):
        _fail(path, f"must be a whole number, not {value!r}")
    if low is not None and (value <= low if exclusive_low else value < low):
        _fail(path, f"must be {'above' if exclusive_low else 'at least'} {low}, not {value!r}")
    if high is not None and value > high:
        _fail(path, f"must be at most {high}, not {value!r}")
    return int(value) if integer else float(value)


def _mapping(value: Any, path: str, allowed: dict) -> dict:
    if not isinstance(value, dict):
        _fail(path, f"must be an object, not {value!r}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        _fail(path, f"has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return {**allowed, **value}


def recipe_default_spec(*, project=None) -> dict:
    """The built-in default merged with settings.EARMARK_PROCESSING_DEFAULT_RECIPE and the project's rate.

    No writes."""
    spec = copy.deepcopy(BUILTIN_DEFAULT)
    for key, value in (getattr(settings, "EARMARK_PROCESSING_DEFAULT_RECIPE", None) or {}).items():
        spec[key] = {**spec[key], **value} if isinstance(spec.get(key), dict) and isinstance(value, dict) else value
    if project is not None:
        spec["target_sample_rate"] = project.target_sample_rate
    return recipe_spec_validate(spec=spec)


def recipe_spec_validate(*, spec: Any) -> dict:
    """The canonical form of ``spec`` (every default filled in), or RecipeError naming the problem. No writes."""
    if not isinstance(spec, dict):
        raise RecipeError(f"A recipe spec must be a JSON object, not {type(spec).__name__}.")
    top = _mapping(spec, "spec", BUILTIN_DEFAULT)
    out: dict[str, Any] = {"version": SPEC_VERSION}
    if top["version"] != SPEC_VERSION:
        _fail("version", f"must be {SPEC_VERSION}")

    rate = out["target_sample_rate"] = int(
        _number(top["target_sample_rate"], "target_sample_rate", low=8000, high=192000, integer=True)
    )
    if top["channels"] not in ("mono", "keep"):
        _fail("channels", f'must be "mono" or "keep", not {top["channels"]!r}')
    out["channels"] = top["channels"]

    if top["trim"] is None:
        out["trim"] = None
    else:
        trim = _mapping(top["trim"], "trim", {"top_db": 40.0})
        out["trim"] = {"top_db": _number(trim["top_db"], "trim.top_db", low=0, high=120, exclusive_low=True)}

    norm = top["normalise"]
    if norm is None:
        out["normalise"] = None
    elif isinstance(norm, dict) and set(norm) == {"loudness_lufs"}:
        out["normalise"] = {"loudness_lufs": _number(norm["loudness_lufs"], "normalise.loudness_lufs", low=-70, high=0)}
    elif isinstance(norm, dict) and set(norm) == {"peak_dbfs"}:
        out["normalise"] = {"peak_dbfs": _number(norm["peak_dbfs"], "normalise.peak_dbfs", low=-60, high=0)}
    else:
        _fail("normalise", 'must be null, {"loudness_lufs": -23} or {"peak_dbfs": -1}')

    length = top["length"]
    if not isinstance(length, dict):
        _fail("length", f"must be an object, not {length!r}")
    try:
        out["length"] = LengthPolicy.from_dict(length).as_dict()
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"Recipe field 'length' is not usable: {exc}") from None

    out["features"] = _features(top["features"], rate)
    if top["feature_dtype"] not in ("float32", "float16"):
        _fail("feature_dtype", f'must be "float32" or "float16", not {top["feature_dtype"]!r}')
    out["feature_dtype"] = top["feature_dtype"]

    voiced = _mapping(top["voiced"], "voiced", BUILTIN_DEFAULT["voiced"])
    out["voiced"] = {
        "top_db": _number(voiced["top_db"], "voiced.top_db", low=0, high=120, exclusive_low=True),
        "min_silence_s": _number(voiced["min_silence_s"], "voiced.min_silence_s", low=0, high=60),
        "min_segment_s": _number(voiced["min_segment_s"], "voiced.min_segment_s", low=0, high=60),
    }

    peaks = _mapping(top["peaks"], "peaks", BUILTIN_DEFAULT["peaks"])
    spps = peaks["samples_per_pixel"]
    if not isinstance(spps, list) or not spps:
        _fail("peaks.samples_per_pixel", "must be a non-empty list of whole numbers")
    spps = sorted({_number(s, "peaks.samples_per_pixel", low=16, high=1 << 20, integer=True) for s in spps})
    if any(s % spps[0] for s in spps):
        _fail("peaks.samples_per_pixel", f"must all be multiples of the smallest ({spps[0]})")
    if peaks["bits"] not in (8, 16):
        _fail("peaks.bits", f"must be 8 or 16, not {peaks['bits']!r}")
    out["peaks"] = {"samples_per_pixel": spps, "bits": peaks["bits"]}

    tiles = _mapping(top["tiles"], "tiles", BUILTIN_DEFAULT["tiles"])
    levels = tiles["seconds_per_tile"]
    if not isinstance(levels, list) or not 1 <= len(levels) <= 6:
        _fail("tiles.seconds_per_tile", "must be a list of one to six durations in seconds")
    levels = sorted({_number(s, "tiles.seconds_per_tile", low=0.5, high=86400) for s in levels})
    tile_fmax = tiles["fmax"]
    if tile_fmax is not None:
        tile_fmax = _number(tile_fmax, "tiles.fmax", low=0, high=rate / 2, exclusive_low=True)
    out["tiles"] = {
        "seconds_per_tile": levels,
        "tile_width": _number(tiles["tile_width"], "tiles.tile_width", low=16, high=4096, integer=True),
        "height": _number(tiles["height"], "tiles.height", low=16, high=1024, integer=True),
        "fmax": tile_fmax,
    }

    augs = top["augmentations"]
    if not isinstance(augs, list) or len(augs) > 20:
        _fail("augmentations", "must be a list of at most 20 augmentation objects")
    out["augmentations"] = [_augmentation(a, f"augmentations[{i}]") for i, a in enumerate(augs)]
    out["seed"] = _number(top["seed"], "seed", low=0, high=2**32 - 1, integer=True)

    arts = top["artifacts"]
    if not isinstance(arts, list) or not all(isinstance(a, str) for a in arts):
        _fail("artifacts", "must be a list of artifact names")
    unknown = sorted(set(arts) - set(ARTIFACT_GROUPS))
    if unknown:
        _fail("artifacts", f"names unknown artifact(s) {', '.join(unknown)}; choose from {', '.join(ARTIFACT_GROUPS)}")
    out["artifacts"] = [a for a in ARTIFACT_GROUPS if a in arts]
    return out


def _features(value: Any, rate: int) -> dict:
    f = _mapping(value, "features", {**BUILTIN_DEFAULT["features"], "hop": None})
    if f.pop("hop") is not None:  # "hop" is accepted as a shorter spelling of hop_length
        if "hop_length" in value:
            _fail("features.hop", "and features.hop_length were both given; use hop_length")
        f["hop_length"] = value["hop"]
    n_fft = _number(f["n_fft"], "features.n_fft", low=16, high=65536, integer=True)
    out = {
        "n_fft": n_fft,
        "hop_length": _number(f["hop_length"], "features.hop_length", low=1, high=n_fft * 4, integer=True),
        "win_length": None
        if f["win_length"] is None
        else _number(f["win_length"], "features.win_length", low=1, high=n_fft, integer=True),
        "n_mels": _number(f["n_mels"], "features.n_mels", low=1, high=512, integer=True),
        "fmin": _number(f["fmin"], "features.fmin", low=0, high=rate / 2),
        "fmax": None
        if f["fmax"] is None
        else _number(f["fmax"], "features.fmax", low=0, high=rate / 2, exclusive_low=True),
        "n_mfcc": _number(f["n_mfcc"], "features.n_mfcc", low=1, high=512, integer=True),
        "deltas": f["deltas"],
        "chroma_tuning": f["chroma_tuning"],
        "top_db": None
        if f["top_db"] is None
        else _number(f["top_db"], "features.top_db", low=0, high=300, exclusive_low=True),
    }
    if not isinstance(out["deltas"], bool):
        _fail("features.deltas", f"must be true or false, not {out['deltas']!r}")
    if out["n_mfcc"] > out["n_mels"]:
        _fail("features.n_mfcc", f"({out['n_mfcc']}) cannot exceed features.n_mels ({out['n_mels']})")
    if out["fmax"] is not None and out["fmax"] <= out["fmin"]:
        _fail("features.fmax", "must be above features.fmin")
    if out["chroma_tuning"] != "estimate":
        out["chroma_tuning"] = _number(out["chroma_tuning"], "features.chroma_tuning", low=-0.5, high=0.5)
    return out


def _augmentation(value: Any, path: str) -> dict:
    if isinstance(value, dict) and value.get("kind") == "spec_augment":
        spec = _mapping(value, path, {"kind": "spec_augment", **{k: None for k in _SPEC_AUGMENT_PARAMS}})
        out: dict[str, Any] = {"kind": "spec_augment"}
        for name, kind in _SPEC_AUGMENT_PARAMS.items():
            v = spec[name]
            if v is None:
                continue
            if name == "mask_value":
                if not (v in ("mean", "min") or (isinstance(v, (int, float)) and not isinstance(v, bool))):
                    _fail(f"{path}.mask_value", f'must be a number, "mean" or "min", not {v!r}')
                out[name] = v
            elif kind is int:
                out[name] = _number(v, f"{path}.{name}", low=0, high=10000, integer=True)
            else:
                out[name] = _number(v, f"{path}.{name}", low=0, high=1)
        return out
    try:
        return augment_validate_spec(value)
    except ValueError as exc:
        raise RecipeError(f"Recipe field '{path}' is not usable: {exc}") from None


def recipe_spec_hash(spec: dict) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of a validated spec."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def recipe_create(*, project, spec: Any, name: str = "", created_by=None) -> Recipe:
    """Validate and store a recipe for ``project``; the same spec twice returns the existing row. Writes one Recipe."""
    clean = recipe_spec_validate(spec=spec)
    digest = recipe_spec_hash(clean)
    existing = Recipe.objects.filter(project=project, spec_hash=digest).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Recipe.objects.create(
                project=project,
                spec=clean,
                spec_hash=digest,
                created_by=created_by,
                name=(name or f"recipe {digest[:8]}")[:200],
            )
    except IntegrityError:  # created concurrently with the same spec
        return Recipe.objects.get(project=project, spec_hash=digest)


def project_recipe_activate(*, project, recipe: Recipe) -> ProjectProcessing:
    """Make ``recipe`` the project's active one. Earlier recipes and their artifacts stay. Writes ProjectProcessing."""
    if recipe.project_id != project.id:
        raise RecipeError(f"Recipe {recipe.id} belongs to another project.")
    row, _ = ProjectProcessing.objects.update_or_create(project=project, defaults={"active_recipe": recipe})
    return row


def project_recipe_get(*, project) -> Recipe:
    """The project's active recipe, creating the default one on first use. May write a Recipe and ProjectProcessing."""
    row = ProjectProcessing.objects.select_related("active_recipe").filter(project=project).first()
    if row is not None:
        return row.active_recipe
    with transaction.atomic():
        recipe = recipe_create(project=project, spec=recipe_default_spec(project=project), name="default")
        try:
            with transaction.atomic():
                ProjectProcessing.objects.create(project=project, active_recipe=recipe)
        except IntegrityError:  # another request made the project's first recipe at the same time
            return ProjectProcessing.objects.select_related("active_recipe").get(project=project).active_recipe
    return recipe


def project_recipe_set(*, project, spec: Any, name: str = "", created_by=None) -> Recipe:
    """Validate ``spec``, store it and make it the project's active recipe; earlier recipes and artifacts stay.

    Writes Recipe (unless the same spec exists) and ProjectProcessing; nothing on a validation error.
    """
    with transaction.atomic():
        recipe = recipe_create(project=project, spec=spec, name=name, created_by=created_by)
        project_recipe_activate(project=project, recipe=recipe)
    return recipe
