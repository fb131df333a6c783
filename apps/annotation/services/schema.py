"""Label schemas: region and clip labels, per-region fields, and the project's annotation settings."""

import re

from django.db import transaction

from apps.annotation.models import (
    Annotation,
    AnnotationSettings,
    FieldType,
    Label,
    LabelKind,
    Region,
    RegionField,
)
from apps.annotation.selectors import label_list, labels_schema
from apps.core.errors import DomainError

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
# Tableau 10: distinct, colour-blind-friendlier defaults for labels given no colour.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
HOTKEYS = [str(i) for i in range(1, 10)]
_SETTINGS = ("overlap", "lock_minutes", "clip_multi", "transcript")


def _labels_check(kind: str, items: list[dict]) -> None:
    names, keys = set(), set()
    for i, item in enumerate(items):
        where = f"{kind}_labels[{i}]"
        name = (item.get("name") or "").strip()
        if not name:
            raise DomainError(f"{where}.name must not be blank.")
        if name.lower() in names:
            raise DomainError(f"{where}.name {name!r} is used twice among the {kind} labels.")
        names.add(name.lower())
        color = item.get("color") or ""
        if color and not _COLOR.match(color):
            raise DomainError(f"{where}.color {color!r} is not a hex colour like #1f77b4.")
        hotkey = item.get("hotkey") or ""
        if hotkey and hotkey not in HOTKEYS:
            raise DomainError(f"{where}.hotkey {hotkey!r} must be one of the keys 1 to 9.")
        if hotkey and hotkey in keys:
            raise DomainError(f"{where}.hotkey {hotkey!r} is used twice among the {kind} labels.")
        keys.add(hotkey)


def _fields_check(items: list[dict]) -> None:
    names = set()
    for i, item in enumerate(items):
        where = f"region_fields[{i}]"
        name = (item.get("name") or "").strip()
        if not name:
            raise DomainError(f"{where}.name must not be blank.")
        if name in names:
            raise DomainError(f"{where}.name {name!r} is used twice.")
        names.add(name)
        if item.get("type") not in FieldType.values:
            raise DomainError(f"{where}.type must be one of {', '.join(FieldType.values)}.")
        choices = item.get("choices") or []
        if item["type"] == FieldType.CHOICE and not choices:
            raise DomainError(f"{where}: a choice field needs at least one choice.")
        if len(set(choices)) != len(choices):
            raise DomainError(f"{where}.choices lists a choice twice.")


def _labels_replace(project_id, kind: str, items: list[dict]) -> None:
    existing = {lb.id: lb for lb in label_list(project_id, kind)}
    by_name = {lb.name.lower(): lb for lb in existing.values()}
    keep: list[Label] = []
    # Rows named by id are theirs; a name-only item may reuse a row nobody claimed (never one twice).
    claimed = {item["id"] for item in items if item.get("id") is not None}
    for order, item in enumerate(items):
        if item.get("id") is not None:
            label = existing.get(item["id"])
            if label is None:
                raise DomainError(f"{kind}_labels[{order}].id {item['id']} is not a {kind} label of this project.")
            if any(label is other for other in keep):
                raise DomainError(f"{kind}_labels[{order}].id {item['id']} is listed twice.")
        else:
            label = by_name.get(item["name"].strip().lower())
            if label is None or label.id in claimed or any(label is other for other in keep):
                label = Label(project_id=project_id, kind=kind)
        label.name = item["name"].strip()
        label.color = item.get("color") or label.color or PALETTE[order % len(PALETTE)]
        label.hotkey = item.get("hotkey") or ""
        label.order = order
        keep.append(label)
    gone = set(existing) - {lb.id for lb in keep if lb.id}
    if gone:
        used = Region.objects.filter(label_id__in=gone).values_list("label__name", flat=True).first()
        used = (
            used
            or Annotation.clip_labels.through.objects.filter(label_id__in=gone)
            .values_list("label__name", flat=True)
            .first()
        )
        if used:
            raise DomainError(f"The label {used!r} is used in annotations and cannot be removed; rename it instead.")
        Label.objects.filter(id__in=gone).delete()
    # Clear names first so renames that swap two names do not trip the unique constraint midway.
    for label in keep:
        if label.id:
            Label.objects.filter(id=label.id).update(name=f"__renaming {label.id}__")
    for label in keep:
        label.save()


@transaction.atomic
def labels_set(*, project_id, region_labels=None, clip_labels=None, region_fields=None, **settings) -> dict:
    """Replace the parts of a project's schema that are given; writes Label, RegionField, AnnotationSettings.

    Labels are matched by id, else by name, so regions keep pointing at renamed labels; removing a
    label that annotations use is refused.
    """
    unknown = set(settings) - set(_SETTINGS)
    if unknown:
        raise DomainError(f"Unknown setting {sorted(unknown)[0]!r}.")
    for kind, items in ((LabelKind.REGION, region_labels), (LabelKind.CLIP, clip_labels)):
        if items is not None:
            _labels_check(kind, items)
    if region_fields is not None:
        _fields_check(region_fields)
    for kind, items in ((LabelKind.REGION, region_labels), (LabelKind.CLIP, clip_labels)):
        if items is not None:
            _labels_replace(project_id, kind, items)
    if region_fields is not None:
        RegionField.objects.filter(project_id=project_id).delete()
        RegionField.objects.bulk_create(
            [
                RegionField(
                    project_id=project_id,
                    name=f["name"].strip(),
                    type=f["type"],
                    choices=f.get("choices") or [],
                    order=i,
                )
                for i, f in enumerate(region_fields)
            ]
        )
    given = {k: v for k, v in settings.items() if v is not None}
    if given:
        AnnotationSettings.objects.update_or_create(project_id=project_id, defaults=given)
    return labels_schema(project_id)


@transaction.atomic
def label_create(*, project_id, kind: str = LabelKind.REGION, name: str, color: str = "", hotkey: str = "") -> Label:
    """Add one label to a project's schema; writes a Label row."""
    if kind not in LabelKind.values:
        raise DomainError(f"kind must be one of {', '.join(LabelKind.values)}.")
    current = [{"name": lb.name, "color": lb.color, "hotkey": lb.hotkey} for lb in label_list(project_id, kind)]
    _labels_check(kind, [*current, {"name": name, "color": color, "hotkey": hotkey}])
    return Label.objects.create(
        project_id=project_id,
        kind=kind,
        name=name.strip(),
        color=color or PALETTE[len(current) % len(PALETTE)],
        hotkey=hotkey,
        order=len(current),
    )
