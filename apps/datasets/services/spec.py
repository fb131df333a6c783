"""Release spec: parse and normalise what a manager asks for, or say in one sentence what is wrong.

A spec (every field optional; defaults shown)::

    {
      "name": "",                        # shown in the data card; defaults to "<project> release"
      "purpose": "train_models",         # train_models | public_release | commercial (consent must cover it)
      "unit": "recording",               # recording | region (one example per labelled or transcribed region)
      "margin": 0.0,                     # seconds added around each region (max 5)
      "filters": {"labels": [], "languages": [], "qa": "exclude_flagged", "accepted_only": false,
                  "min_duration": null, "max_duration": null, "recorded_after": null, "recorded_before": null,
                  "campaign": null,              # a collection campaign's id: its clips only (+ validated.tsv ...)
                  "validation": "any"},          # any | validated: only clips listeners validated
      "audio": {"source": "original", "format": "flac", "sample_rate": null},   # source: original | recipe
                                         # sample_rate null: the project's rate (source recipe: as processed)
      "features": [],                    # feature artifacts of the active recipe: mel, mfcc, chroma, spectrogram...
      "splits": {"train": 0.8, "validation": 0.1, "test": 0.1}, "seed": 0,
      "formats": ["jsonl", "csv", "hf-parquet", "lhotse", "webdataset"],
      "webdataset": {"shard_mb": 512},
      "license": "",                     # SPDX-like id for the card's header, e.g. "cc-by-4.0" ("licence" accepted)
      "description": "",                 # the card's opening paragraph
      "citation": ""                     # how to cite the dataset (BibTeX or plain text)
    }

Public releases (purpose public_release) also get a random ``pseudonym_salt`` here, once: speaker codes
are replaced by salted pseudonyms, so two releases cannot be linked by speaker, while a rebuild (which
copies the spec) keeps its predecessor's pseudonyms and bytes.
"""

from __future__ import annotations

import math
import re
import secrets
from datetime import date, datetime
from typing import Any

from apps.consent.purposes import Purpose
from apps.core.errors import DomainError
from apps.datasets.formats import FORMATS
from apps.datasets.models import ReleaseUnit
from apps.datasets.services.features import feature_kinds_validate
from apps.datasets.splits import DEFAULT_RATIOS, validate_ratios

RELEASE_PURPOSES = (Purpose.TRAIN_MODELS, Purpose.PUBLIC_RELEASE, Purpose.COMMERCIAL)
QA_CHOICES = ("exclude_flagged", "any")
AUDIO_SOURCES = ("original", "recipe")
AUDIO_FORMATS = ("flac", "wav")
MAX_MARGIN = 5.0
SPEC_KEYS = {
    "name",
    "purpose",
    "unit",
    "margin",
    "filters",
    "audio",
    "features",
    "splits",
    "seed",
    "formats",
    "webdataset",
    "baseline",
    "license",
    "licence",
    "description",
    "citation",
    "pseudonym_salt",
}
BASELINE_BACKENDS = ("sklearn", "cnn")
_LICENSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$")
_SALT = re.compile(r"^[0-9a-f]{32}$")
FILTER_KEYS = {
    "labels",
    "languages",
    "qa",
    "accepted_only",
    "min_duration",
    "max_duration",
    "recorded_after",
    "recorded_before",
    "campaign",
    "validation",
}
VALIDATION_CHOICES = ("any", "validated")


def _fail(message: str):
    raise DomainError(message)


def _number(value, what: str, *, minimum: float | None = 0.0) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(f"{what} must be a number (got {value!r}).")
    if minimum is not None and value < minimum:
        _fail(f"{what} must be at least {minimum:g} (got {value!r}).")
    return float(value)


def _string_list(value, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        _fail(f"{what} must be a list of names.")
    return sorted(set(v.strip() for v in value))


def _date(value, what: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(value) if "T" in str(value) else date.fromisoformat(str(value))
    except (TypeError, ValueError):
        _fail(f"{what} must be an ISO date such as 2026-01-31 (got {value!r}).")
    return parsed.isoformat()


def release_spec_normalise(*, spec: Any, project_labels: set[str], project_languages: set[str] | None) -> dict:
    """Check a release spec against the project and return it in canonical form; raises DomainError (400)."""
    if not isinstance(spec, dict):
        _fail("The release spec must be a JSON object.")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        _fail(f"Unknown release spec field {unknown[0]!r}; use {', '.join(sorted(SPEC_KEYS))}.")

    name = spec.get("name") or ""
    if not isinstance(name, str) or len(name) > 200:
        _fail("The release name must be text of at most 200 characters.")

    purpose = spec.get("purpose", Purpose.TRAIN_MODELS)
    if purpose not in RELEASE_PURPOSES:
        _fail(f"Release purpose {purpose!r} is not a release purpose; use {', '.join(RELEASE_PURPOSES)}.")

    unit = spec.get("unit", ReleaseUnit.RECORDING)
    if unit not in ReleaseUnit.values:
        _fail(f"Release unit {unit!r} is not one of {', '.join(ReleaseUnit.values)}.")
    margin = _number(spec.get("margin", 0.0), "The region margin") or 0.0
    if margin > MAX_MARGIN:
        _fail(f"The region margin must be at most {MAX_MARGIN:g} seconds (got {margin:g}).")

    filters = spec.get("filters") or {}
    if not isinstance(filters, dict):
        _fail("The release filters must be a JSON object.")
    unknown = sorted(set(filters) - FILTER_KEYS)
    if unknown:
        _fail(f"Unknown release filter {unknown[0]!r}; use {', '.join(sorted(FILTER_KEYS))}.")
    labels = _string_list(filters.get("labels"), "The label filter")
    missing = [label for label in labels if label not in project_labels]
    if missing:
        _fail(f"Unknown label {missing[0]!r}: the project has no such label.")
    languages = _string_list(filters.get("languages"), "The language filter")
    if project_languages is not None:
        missing = [tag for tag in languages if tag not in project_languages]
        if missing:
            _fail(f"Unknown language {missing[0]!r}: no recording of the project uses that tag.")
    qa = filters.get("qa", "exclude_flagged")
    if qa not in QA_CHOICES:
        _fail(f"The QA filter must be one of {', '.join(QA_CHOICES)} (got {qa!r}).")
    accepted_only = filters.get("accepted_only", False)
    if not isinstance(accepted_only, bool):
        _fail("accepted_only must be true or false.")
    min_d = _number(filters.get("min_duration"), "min_duration")
    max_d = _number(filters.get("max_duration"), "max_duration")
    if min_d is not None and max_d is not None and min_d > max_d:
        _fail(f"min_duration ({min_d:g} s) is larger than max_duration ({max_d:g} s).")
    campaign = filters.get("campaign")
    if campaign is not None and (isinstance(campaign, bool) or not isinstance(campaign, int) or campaign < 1):
        _fail(f"The campaign filter must be a campaign id (got {campaign!r}).")
    validation = filters.get("validation", "any")
    if validation not in VALIDATION_CHOICES:
        _fail(f"The validation filter must be one of {', '.join(VALIDATION_CHOICES)} (got {validation!r}).")
    after = _date(filters.get("recorded_after"), "recorded_after")
    before = _date(filters.get("recorded_before"), "recorded_before")

    audio = spec.get("audio") or {}
    if not isinstance(audio, dict):
        _fail("The audio spec must be a JSON object.")
    source = audio.get("source", "original")
    if source not in AUDIO_SOURCES:
        _fail(f"Audio source {source!r} is not one of {', '.join(AUDIO_SOURCES)}.")
    audio_format = audio.get("format", "flac")
    if audio_format not in AUDIO_FORMATS:
        _fail(f"Audio format {audio_format!r} is not one of {', '.join(AUDIO_FORMATS)}.")
    rate = audio.get("sample_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or not 1000 <= rate <= 192000):
        _fail(f"The sample rate must be a whole number of Hz between 1000 and 192000 (got {rate!r}).")

    features = feature_kinds_validate(_string_list(spec.get("features"), "features"))

    ratios = spec.get("splits", DEFAULT_RATIOS)
    if not isinstance(ratios, dict):
        _fail('splits must map split names to ratios, e.g. {"train": 0.8, "validation": 0.1, "test": 0.1}.')
    try:
        ratios = validate_ratios(ratios)
    except ValueError as exc:
        _fail(str(exc))
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        _fail(f"The seed must be a whole number from 0 to 2**32-1 (got {seed!r}).")

    formats = spec.get("formats") or list(FORMATS)
    if not isinstance(formats, list) or not formats:
        _fail(f"formats must be a list drawn from {', '.join(FORMATS)}.")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        _fail(f"Unknown release format {bad[0]!r}; choose from {', '.join(FORMATS)}.")
    wds = spec.get("webdataset") or {}
    shard_mb = _number(wds.get("shard_mb", 512), "webdataset shard_mb", minimum=1)
    baseline = spec.get("baseline", False)
    if baseline is True:
        baseline = "sklearn"
    if baseline is not False and baseline not in BASELINE_BACKENDS:
        _fail(f"baseline must be true, false or a backend ({', '.join(BASELINE_BACKENDS)}) (got {baseline!r}).")
    if baseline and not ratios.get("test"):
        _fail("A baseline is scored on the test split: give the test split a ratio above 0.")

    if "license" in spec and "licence" in spec:
        _fail("Give the licence once, as license or licence.")
    license_id = spec.get("license", spec.get("licence")) or ""
    if not isinstance(license_id, str) or (license_id and not _LICENSE.match(license_id.strip())):
        _fail(f"The licence must be an SPDX-style identifier such as cc-by-4.0 or mit (got {license_id!r}).")
    texts = {}
    for key, limit in (("description", 5000), ("citation", 5000)):
        value = spec.get(key) or ""
        if not isinstance(value, str) or len(value) > limit:
            _fail(f"The {key} must be text of at most {limit} characters.")
        texts[key] = value.strip()
    salt = spec.get("pseudonym_salt")
    if purpose == Purpose.PUBLIC_RELEASE:
        if salt is None:
            salt = secrets.token_hex(16)
        elif not isinstance(salt, str) or not _SALT.match(salt):
            _fail("pseudonym_salt must be 32 lowercase hex digits (or left out: Earmark makes one).")
    else:
        salt = None

    return {
        "name": name.strip(),
        "purpose": str(purpose),
        "unit": str(unit),
        "margin": margin,
        "filters": {
            "labels": labels,
            "languages": languages,
            "qa": qa,
            "accepted_only": accepted_only,
            "min_duration": min_d,
            "max_duration": max_d,
            "recorded_after": after,
            "recorded_before": before,
            # Only when asked, so specs without them keep their canonical form (and hash).
            **({"campaign": campaign} if campaign is not None else {}),
            **({"validation": validation} if validation != "any" else {}),
        },
        "audio": {"source": source, "format": audio_format, "sample_rate": rate},
        "features": features,
        "splits": ratios,
        "seed": seed,
        "formats": [f for f in FORMATS if f in formats],
        "webdataset": {"shard_mb": shard_mb},
        # Only when asked, so specs without a baseline keep their canonical form (and hash).
        **({"baseline": {"backend": baseline}} if baseline else {}),
        "license": license_id.strip().lower(),
        "description": texts["description"],
        "citation": texts["citation"],
        **({"pseudonym_salt": salt} if salt else {}),
    }
