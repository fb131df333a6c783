"""Many new rows of one model in a few INSERT statements, without compiling every value through the ORM.

``Model.objects.bulk_create`` prepares each of a row's values through the field's ``pre_save``,
``get_db_prep_save`` and the compiler's ``field_as_sql``: for a 1,000-file upload that was 35,000 calls and
about a tenth of the request's CPU (issue 21). ``rows_insert`` writes the same rows with the same values: it
keeps Django's preparation for every value whose field needs one (JSON, dates, auto_now_add, custom fields)
and passes the plain ones (a ``str`` for a char field, an ``int`` for an integer or a foreign key, a ``float``
for a float field, a ``bool``, ``None`` where the column is nullable) through as they are, which is what
Django's preparation returns for them. Like ``bulk_create`` it sends no signals and sets each object's primary
key from ``RETURNING``; on a backend that cannot return rows from a bulk insert it is ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)

# PostgreSQL binds at most 65,535 parameters per statement; SQLite's limit is in bulk_batch_size.
_MAX_PARAMS = 65_535

# Field classes whose database value is the attribute itself when the attribute has one of these types (their
# get_db_prep_save is to_python/int()/float() of a value already of that type). Subclasses are not trusted.
_PLAIN: dict[type, tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveBigIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.FloatField: (float, int),
    models.BooleanField: (bool,),
}


def _plain_types(field: models.Field) -> tuple[type, ...] | None:
    """The attribute types passed through unchanged for ``field``, or None if every value goes through Django."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return None
    if isinstance(field, models.ForeignKey):
        target = field.target_field
        if type(target) not in (models.AutoField, models.BigAutoField, models.IntegerField, models.BigIntegerField):
            return None
        return (int,)
    return _PLAIN.get(type(field))


def rows_insert(model: type[M], objs: Sequence[M]) -> list[M]:
    """INSERT ``objs`` (new, unsaved instances of ``model``) and set their primary keys; returns ``objs``.

    Writes one INSERT per batch the backend allows. The values are those ``bulk_create`` would write (values
    that are query expressions are not supported; neither does ``bulk_create`` on new rows need them here).
    Anything unusual (multi-table inheritance, primary keys given, columns the database fills and returns, a
    backend without RETURNING from bulk inserts) goes to ``bulk_create`` itself.
    """
    if not objs:
        return list(objs)
    alias = router.db_for_write(model)
    connection = connections[alias]
    opts = model._meta
    pk = opts.pk
    if (
        opts.parents
        or not isinstance(pk, models.AutoField)  # BigAutoField and SmallAutoField are subclasses
        or not connection.features.can_return_rows_from_bulk_insert
        or any(f is not pk for f in opts.db_returning_fields)
        or any(getattr(f, "generated", False) for f in opts.concrete_fields)
        or any(getattr(obj, pk.attname) is not None for obj in objs)
    ):
        return model._default_manager.using(alias).bulk_create(objs)
    for obj in objs:  # as bulk_create: a related object must be saved, and its pk is copied to the column
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    fields = [f for f in opts.concrete_fields if f is not pk]
    plain = [_plain_types(f) for f in fields]
    attnames = [f.attname for f in fields]
    prepared: list[list] = []
    for obj in objs:
        row = []
        values = obj.__dict__
        for field, attname, types in zip(fields, attnames, plain, strict=True):
            value = values.get(attname)
            if types is not None and (type(value) in types or (value is None and field.null)):
                row.append(value)
            else:  # what bulk_create does for every value (auto_now_add sets the attribute here)
                row.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
        prepared.append(row)
    qn = connection.ops.quote_name
    table = qn(opts.db_table)
    columns = ", ".join(qn(f.column) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = f" RETURNING {table}.{qn(pk.column)}"
    batch = max(1, min(connection.ops.bulk_batch_size(fields, objs), _MAX_PARAMS // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch):
            rows = prepared[start : start + batch]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(rows))}{returning}",
                [value for row in rows for value in row],
            )
            ids = cursor.fetchall()
            if len(ids) != len(rows):  # never expected: RETURNING gives one row per inserted row
                raise RuntimeError(f"INSERT into {opts.db_table} returned {len(ids)} ids for {len(rows)} rows")
            for obj, (pk_value,) in zip(objs[start : start + batch], ids, strict=True):
                setattr(obj, pk.attname, pk_value)
                obj._state.adding = False
                obj._state.db = alias
    return list(objs)
