"""Checks an annotation's regions and clip labels against its recording and its project's schema.

Everything here only reads; a failure raises DomainError naming the bad field, before anything is written.
"""

import math
from dataclasses import dataclass
from functools import cached_property

from apps.annotation.models import FieldType, LabelKind
from apps.annotation.selectors import (
    annotation_settings_get,
    label_list,
    region_field_list,
)
from apps.core.errors import DomainError

# Floating-point slack when comparing a millisecond-rounded end with the recording's duration.
_EPS = 0.0005


@dataclass
class CleanRegion:
    uid: str
    start: float
    end: float
    channel: int | None
    label_id: int | None
    text: str
    attributes: dict
    fmin: float | None
    fmax: float | None
    source: dict | None = None

    def as_json(self) -> dict:
        return {
            "id": self.uid,
            "start": self.start,
            "end": self.end,
            "channel": self.channel,
            "label": self.label_id,
            "text": self.text,
            "attributes": self.attributes,
            "fmin": self.fmin,
            "fmax": self.fmax,
            "source": self.source,
        }


class _Schema:
    """The project's label ids and region fields, each read once and only when a region needs it.

    A save whose regions carry no labels or no attributes skips those queries.
    """

    def __init__(self, project_id):
        self.project_id = project_id

    @cached_property
    def _labels(self) -> list[tuple[int, str]]:
        return list(label_list(self.project_id).values_list("id", "kind"))

    @cached_property
    def region_labels(self) -> set[int]:
        return {pk for pk, kind in self._labels if kind == LabelKind.REGION}

    @cached_property
    def clip_labels(self) -> set[int]:
        return {pk for pk, kind in self._labels if kind == LabelKind.CLIP}

    @cached_property
    def fields(self) -> dict:
        return {f.name: f for f in region_field_list(self.project_id)}


def _number(value, where: str, *, unit="seconds") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DomainError(f"{where} must be a number of {unit}.")
    return float(value)


def _number_or_none(value, where: str, *, unit="seconds") -> float | None:
    return None if value is None else _number(value, where, unit=unit)


def _attributes_clean(attributes, schema: "_Schema", where: str) -> dict:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise DomainError(f"{where}.attributes must be an object.")
    for name, value in attributes.items():
        field = schema.fields.get(name)
        if field is None:
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                raise DomainError(f"{where}.attributes.{name} must be text, a number or true/false.")
            continue
        if field.type == FieldType.CHECKBOX and not isinstance(value, bool):
            raise DomainError(f"{where}.attributes.{name} must be true or false.")
        if field.type == FieldType.TEXT and not isinstance(value, str):
            raise DomainError(f"{where}.attributes.{name} must be text.")
        if field.type == FieldType.CHOICE and value not in (None, "") and value not in (field.choices or []):
            raise DomainError(
                f"{where}.attributes.{name}: {value!r} is not one of {', '.join(map(str, field.choices))}."
            )
    return dict(attributes)


_SOURCE_INTS = ("model", "version")
_SOURCE_NUMBERS = ("confidence", "start", "end")


def _source_clean(source, where: str) -> dict | None:
    """A suggestion's provenance: {model, version, label, confidence, start, end}, nothing else."""
    if source is None:
        return None
    if not isinstance(source, dict):
        raise DomainError(f"{where}.source must be an object (the suggestion's model, version, label, confidence).")
    unknown = sorted(set(source) - {*_SOURCE_INTS, *_SOURCE_NUMBERS, "label"})
    if unknown:
        raise DomainError(f"{where}.source: {', '.join(unknown)} is not part of a suggestion's provenance.")
    for key in _SOURCE_INTS:
        value = source.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DomainError(f"{where}.source.{key} must be a positive whole number.")
    label = source.get("label")
    if label is not None and (isinstance(label, bool) or not isinstance(label, int)):
        raise DomainError(f"{where}.source.label must be a label id or null.")
    clean = {"model": source["model"], "version": source["version"], "label": label}
    for key in _SOURCE_NUMBERS:
        clean[key] = round(_number(source.get(key), f"{where}.source.{key}", unit="seconds or a 0-1 confidence"), 3)
    if not 0 <= clean["confidence"] <= 1:
        raise DomainError(f"{where}.source.confidence must be between 0 and 1.")
    return clean


def regions_clean(*, recording, regions, clip_labels, settings=None) -> tuple[list[CleanRegion], list[int]]:
    """Validated regions (times rounded to ms) and clip-label ids, or DomainError naming the problem."""
    if not isinstance(regions, list):
        raise DomainError("regions must be a list.")
    if not isinstance(clip_labels, list):
        raise DomainError("clip_labels must be a list of label ids.")
    schema = _Schema(recording.project_id)
    nyquist = recording.sample_rate / 2 if recording.sample_rate else None
    duration = float(recording.duration)
    seen: set[str] = set()
    clean: list[CleanRegion] = []
    for i, raw in enumerate(regions):
        where = f"regions[{i}]"
        if not isinstance(raw, dict):
            raise DomainError(f"{where} must be an object.")
        uid = raw.get("id")
        if not isinstance(uid, str) or not uid.strip() or len(uid) > 64:
            raise DomainError(f"{where}.id must be a non-empty string of at most 64 characters (the client's uuid).")
        if uid in seen:
            raise DomainError(f"{where}.id {uid!r} appears twice.")
        seen.add(uid)
        start = round(_number(raw.get("start"), f"{where}.start"), 3)
        end = round(_number(raw.get("end"), f"{where}.end"), 3)
        if start < 0:
            raise DomainError(f"{where}.start must not be negative (got {start} s).")
        if start >= end:
            raise DomainError(f"{where}: start ({start} s) must be before end ({end} s).")
        if end > duration + _EPS:
            raise DomainError(f"{where}.end ({end} s) is past the end of the recording ({duration:.3f} s).")
        channel = raw.get("channel")
        if channel is not None:
            if isinstance(channel, bool) or not isinstance(channel, int) or channel < 0:
                raise DomainError(f"{where}.channel must be a channel number or null.")
            if channel >= recording.channels:
                raise DomainError(
                    f"{where}.channel {channel} does not exist; the recording has {recording.channels} channel(s)."
                )
        label = raw.get("label")
        if label is not None:
            if isinstance(label, bool) or not isinstance(label, int) or label not in schema.region_labels:
                hint = " (that is a clip label)" if label in schema.clip_labels else ""
                raise DomainError(f"{where}.label {label!r} is not a region label of this project{hint}.")
        text = raw.get("text") or ""
        if not isinstance(text, str):
            raise DomainError(f"{where}.text must be a string.")
        fmin = _number_or_none(raw.get("fmin"), f"{where}.fmin", unit="hertz")
        fmax = _number_or_none(raw.get("fmax"), f"{where}.fmax", unit="hertz")
        if (fmin is None) != (fmax is None):
            raise DomainError(f"{where}: give both fmin and fmax, or neither.")
        if fmin is not None and fmax is not None:
            if fmin < 0 or fmin >= fmax:
                raise DomainError(f"{where}: fmin ({fmin} Hz) must be at least 0 and below fmax ({fmax} Hz).")
            if nyquist and fmax > nyquist + 0.5:
                raise DomainError(
                    f"{where}.fmax ({fmax} Hz) is above the recording's Nyquist frequency ({nyquist:g} Hz)."
                )
        attributes = _attributes_clean(raw.get("attributes"), schema, where)
        source = _source_clean(raw.get("source"), where)
        clean.append(CleanRegion(uid, start, end, channel, label, text, attributes, fmin, fmax, source))
    clean.sort(key=lambda r: (r.start, r.end, r.uid))
    clip = []
    for label in clip_labels:
        if isinstance(label, bool) or not isinstance(label, int) or label not in schema.clip_labels:
            raise DomainError(f"clip_labels: {label!r} is not a clip label of this project.")
        if label not in clip:
            clip.append(label)
    if len(clip) > 1 and not (settings or annotation_settings_get(recording.project_id)).clip_multi:
        raise DomainError("clip_labels: this project allows one clip label per recording.")
    return clean, clip
