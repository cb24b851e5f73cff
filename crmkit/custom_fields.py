"""Custom fields: extra, typed fields an installation defines per entity.

Values live in one typed table (a column per type) so filtering and sorting stay in SQL on both
engines. The kernel offers the entity ``customer``; plugins add theirs (``sales.deal``) through
``register_custom_field_entities`` and call the same functions for their records.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections import defaultdict
from collections.abc import Iterable

import peewee
from peewee import SQL, fn

from crmkit import db
from crmkit.db import BaseModel, ExactDecimalField, UTCDateTimeField, utcnow
from crmkit.errors import NotFound, ValidationError
from crmkit.prepared import Prepared

TYPES = ("text", "number", "decimal", "date", "boolean", "choice", "multi_choice")
CHOICE_TYPES = ("choice", "multi_choice")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")  # always fullmatch: "$" would let "abc\n" through
KERNEL_ENTITIES = ("customer",)
TEXT_LIMIT = 1000  # characters of a text value
# Text values are indexed by their first characters only: PostgreSQL refuses a b-tree entry
# above 2704 bytes, which 1000 characters of 3- or 4-byte UTF-8 exceed. 200 characters are at
# most 800 bytes, and a lookup reads the few values sharing a prefix and compares them in full.
TEXT_INDEX_PREFIX = 200
TEXT_INDEX = "custom_value_field_id_text_prefix"
_BIGINT = 2**63
_WHOLE = re.compile(r"[+-]?[0-9]+")  # ASCII only: int() would also take "1_000" and "١٢٣"
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fromisoformat also takes 20270131, 2027-W05


class CustomField(BaseModel):
    entity = peewee.CharField(max_length=100)
    name = peewee.CharField(max_length=63)
    label = peewee.CharField(max_length=200)
    type = peewee.CharField(max_length=20)
    choices = peewee.TextField(null=True)  # JSON list for choice types
    required = peewee.BooleanField(default=False)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "custom_field"
        indexes = ((("entity", "name"), True),)

    @property
    def choice_list(self) -> list[str]:
        return json.loads(self.choices) if self.choices else []

    def as_dict(self) -> dict:
        return {"id": self.id, "entity": self.entity, "name": self.name, "label": self.label,
                "type": self.type, "choices": self.choice_list, "required": self.required,
                "created_at": self.created_at}


class CustomValue(BaseModel):
    field = peewee.ForeignKeyField(CustomField, on_delete="CASCADE")
    record_id = peewee.IntegerField()
    text_value = peewee.CharField(max_length=TEXT_LIMIT, null=True)  # text, choice, a multi option
    int_value = peewee.BigIntegerField(null=True)
    decimal_value = ExactDecimalField(max_digits=24, decimal_places=6, null=True)
    date_value = peewee.DateField(null=True)
    bool_value = peewee.BooleanField(null=True)

    class Meta:
        table_name = "custom_value"
        indexes = (
            (("field", "record_id"), False),
            (("field", "int_value"), False),
            (("field", "decimal_value"), False),
            (("field", "date_value"), False),
        )


def _text_key(column) -> peewee.Expression:
    """The indexed prefix of a text value; literals inlined so the planner matches the index."""
    return fn.SUBSTR(column, SQL("1"), SQL(str(TEXT_INDEX_PREFIX)))


CustomValue.add_index(CustomValue.index(CustomValue.field, _text_key(CustomValue.text_value),
                                        name=TEXT_INDEX))


_COLUMN = {"text": "text_value", "choice": "text_value", "multi_choice": "text_value",
           "number": "int_value", "decimal": "decimal_value", "date": "date_value",
           "boolean": "bool_value"}


_VALUE_FIELDS = tuple(getattr(CustomValue, c) for c in dict.fromkeys(_COLUMN.values()))
_VALUE_INDEX = {t: [f.name for f in _VALUE_FIELDS].index(c) for t, c in _COLUMN.items()}


def value_column(field_type: str) -> str:
    """The ``custom_value`` column that stores values of ``field_type`` (bulk writers need it)."""
    return _COLUMN[field_type]


def entities() -> list[str]:
    """Entities that accept custom fields: the kernel's and those plugins register."""
    from flask import current_app, has_app_context
    found = list(KERNEL_ENTITIES)
    if has_app_context():
        pm = current_app.extensions["crmkit"].pm
        for names in pm.hook.register_custom_field_entities():
            found.extend(n for n in names or [] if n not in found)
    return found


def define_field(entity: str, name: str, type: str, label: str | None = None,
                 choices: Iterable[str] | None = None, required: bool = False) -> CustomField:
    errors = {}
    if entity not in entities():
        errors["entity"] = f"Unknown entity; one of: {', '.join(entities())}."
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        errors["name"] = "Use lower case letters, digits and underscores, starting with a letter."
    if type not in TYPES:
        errors["type"] = f"Must be one of: {', '.join(TYPES)}."
    choice_list = [str(c) for c in (choices or [])]
    if type in CHOICE_TYPES and not choice_list:
        errors["choices"] = "A choice field needs at least one choice."
    elif type in TYPES and type not in CHOICE_TYPES and choice_list:
        errors["choices"] = "Only choice and multi_choice fields take choices."
    elif len(set(choice_list)) != len(choice_list):
        errors["choices"] = "Choices must be unique."
    taken = {"name": f"A field named {name!r} already exists on {entity}."}
    if not errors and CustomField.select().where(
            (CustomField.entity == entity) & (CustomField.name == name)).exists():
        errors.update(taken)
    if errors:
        raise ValidationError(errors)
    try:
        # A savepoint: when another transaction defines the same name between the check above
        # and this insert, the unique index refuses it, and PostgreSQL would otherwise abort
        # the whole transaction. The loser gets the answer a later duplicate gets.
        with db.database.atomic():
            field = CustomField.create(entity=entity, name=name,
                                       label=label or name.replace("_", " "), type=type,
                                       choices=json.dumps(choice_list) if choice_list else None,
                                       required=required)
    except peewee.IntegrityError:
        raise ValidationError(taken) from None
    from crmkit import audit
    audit.record("custom_field.create", "custom_field", field.id,
                 changes={k: [None, v] for k, v in field.as_dict().items()
                          if k not in ("id", "created_at")})
    return field


def get_field(field_id: int) -> CustomField:
    # An id no BIGINT holds names no field; the drivers would overflow on it instead.
    found = 0 < field_id < _BIGINT
    field = CustomField.get_or_none(CustomField.id == field_id) if found else None
    if field is None:
        raise NotFound(f"Custom field {field_id} does not exist.")
    return field


def fields_for(entity: str) -> dict[str, CustomField]:
    return {f.name: f for f in CustomField.select().where(CustomField.entity == entity)}


def delete_field(field_id: int) -> None:
    """Delete a definition and every value stored for it."""
    field = get_field(field_id)
    values = CustomValue.delete().where(CustomValue.field == field).execute()
    field.delete_instance()
    from crmkit import audit
    audit.record("custom_field.delete", "custom_field", field_id,
                 changes={k: [v, None] for k, v in field.as_dict().items()
                          if k not in ("id", "created_at")},
                 detail={"values_deleted": values})


def _fits_decimal_column(value: decimal.Decimal):
    """``value`` if the decimal column holds it exactly, else a message. Refused rather than
    rounded: a larger one overflows on the way in and more places would be lost silently."""
    column = CustomValue.decimal_value
    whole = column.max_digits - column.decimal_places
    # adjusted() first: quantizing 1e30 would overflow the decimal context.
    if value.adjusted() >= whole:
        return None, f"Too large: at most {whole} digits before the decimal point."
    if value != value.quantize(decimal.Decimal(1).scaleb(-column.decimal_places)):
        return None, f"Too precise: at most {column.decimal_places} decimal places."
    if not db.decimal_kept(value):
        return None, (f"Too many digits: this database (SQLite) keeps "
                      f"{db.SQLITE_DECIMAL_DIGITS} significant digits of a decimal.")
    return value, None


def _whole_number(raw):
    """An integral JSON number or a string of ASCII digits (with an optional sign) as an int,
    or a message; anything else raises ValueError."""
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, float):
        if not raw.is_integer():  # JSON 5.0 and 1e2 are whole; 2.5 is not
            raise ValueError
        if abs(raw) > 2**53:  # beyond it a JSON number no longer says which integer it was
            return None, "Too large to be exact as a JSON number; send it as a string."
        value = int(raw)
    elif isinstance(raw, decimal.Decimal):
        if not raw.is_finite() or raw != raw.to_integral_value():
            raise ValueError
        value = int(raw)
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _WHOLE.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        raise ValueError
    if not -_BIGINT <= value < _BIGINT:
        return None, f"Out of range: from {-_BIGINT} to {_BIGINT - 1}."
    return value, None


def _coerce(field: CustomField, raw):
    """The value as stored, or a message saying why it cannot be."""
    kind = field.type
    if raw is None or raw == "" or (raw == [] and kind == "multi_choice"):
        return None, None
    try:
        if kind == "text":
            # Strings only, as the API documents: str() would store {"a": 1} as "{'a': 1}".
            if not isinstance(raw, str):
                return None, "Not a valid string."
            if len(raw) > TEXT_LIMIT:
                return None, f"Longer than {TEXT_LIMIT} characters."
            return raw, None
        if kind == "number":
            return _whole_number(raw)
        if kind == "decimal":
            if isinstance(raw, bool):
                raise ValueError
            if isinstance(raw, decimal.Decimal):
                value = raw
            elif isinstance(raw, (int, float)):
                value = decimal.Decimal(str(raw))  # str: 0.1 as written, not the binary float
            elif isinstance(raw, str) and _DECIMAL.fullmatch(raw.strip()):
                value = decimal.Decimal(raw.strip())
            else:
                raise ValueError
            if not value.is_finite():
                raise ValueError
            return _fits_decimal_column(value)
        if kind == "date":
            if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
                return raw, None
            if not isinstance(raw, str) or not _DATE.fullmatch(raw.strip()):
                raise ValueError
            return dt.date.fromisoformat(raw.strip()), None
        if kind == "boolean":
            if isinstance(raw, bool):
                return raw, None
            text = str(raw).strip().lower()
            if text in ("true", "yes", "1"):
                return True, None
            if text in ("false", "no", "0"):
                return False, None
            raise ValueError
        if kind == "choice":
            text = str(raw)
            if text not in field.choice_list:
                return None, f"Must be one of: {', '.join(field.choice_list)}."
            return text, None
        if kind == "multi_choice":
            items = raw if isinstance(raw, list) else [s.strip() for s in str(raw).split("|")]
            bad = [str(i) for i in items if str(i) not in field.choice_list]
            if bad:
                return None, (f"Unknown choice(s) {', '.join(bad)}; "
                              f"allowed: {', '.join(field.choice_list)}.")
            return sorted(set(str(i) for i in items)), None
    except (ValueError, TypeError, decimal.InvalidOperation):
        pass
    expected = {"number": "a whole number", "decimal": "a decimal number",
                "date": "a date as YYYY-MM-DD", "boolean": "true or false"}.get(kind, kind)
    return None, f"Not a valid value: expected {expected}."


def validate_values(entity: str, values: dict | None, creating: bool,
                    defined: dict[str, CustomField] | None = None) -> dict[str, object]:
    """Check ``values`` against the entity's definitions; errors are keyed ``custom.<name>``.
    ``defined`` (from :func:`fields_for`) saves the query when checking many records."""
    values = values or {}
    if not isinstance(values, dict):
        raise ValidationError({"custom": "Must be an object of field name to value."})
    if defined is None:
        defined = fields_for(entity)
    clean, errors = {}, {}
    for name, raw in values.items():
        field = defined.get(name)
        if field is None:
            errors[f"custom.{name}"] = f"Unknown custom field for {entity}."
            continue
        value, problem = _coerce(field, raw)
        if problem:
            errors[f"custom.{name}"] = problem
        elif value is None and field.required:
            errors[f"custom.{name}"] = "This custom field is required."
        else:
            clean[name] = value
    if creating:
        for name, field in defined.items():
            if field.required and name not in values:
                errors[f"custom.{name}"] = "This custom field is required."
    if errors:
        raise ValidationError(errors)
    return clean


def save_values(entity: str, record_id: int, clean: dict[str, object]) -> None:
    """Replace the given fields' values of one record (other fields untouched)."""
    if not clean:
        return
    defined = fields_for(entity)
    fields = [defined[name] for name in clean]
    CustomValue.delete().where((CustomValue.field.in_(fields))
                               & (CustomValue.record_id == record_id)).execute()
    rows = []
    empty = dict.fromkeys(set(_COLUMN.values()))  # insert_many takes its columns from row one
    for field in fields:
        value = clean[field.name]
        for item in ((value or []) if field.type == "multi_choice" else [value]):
            if item is not None:
                rows.append({**empty, "field": field.id, "record_id": record_id,
                             _COLUMN[field.type]: item})
    if rows:
        CustomValue.insert_many(rows).execute()


def load_values(entity: str, record_ids: Iterable[int]) -> dict[int, dict[str, object]]:
    """``{record_id: {name: value}}`` for many records in one query."""
    ids = list(record_ids)
    out: dict[int, dict[str, object]] = defaultdict(dict)
    if not ids:
        return out
    query = (CustomValue.select(CustomValue, CustomField)
             .join(CustomField)
             .where((CustomField.entity == entity) & (CustomValue.record_id.in_(ids))))
    for row in query:
        field = row.field
        value = getattr(row, _COLUMN[field.type])
        if field.type == "multi_choice":
            out[row.record_id].setdefault(field.name, []).append(value)
            out[row.record_id][field.name].sort()
        else:
            out[row.record_id][field.name] = value
    return out


_VALUES_OF = Prepared(lambda: (
    CustomValue.select(CustomField.name, CustomField.type, *_VALUE_FIELDS).join(CustomField)
    .where((CustomField.entity == "") & (CustomValue.record_id == 0))))


def values_of(entity: str, record_id: int) -> dict[str, object]:
    """``{name: value}`` of one record: what :func:`load_values` gives for it, with the query
    composed once (reading one customer is the most frequent request)."""
    out: dict[str, object] = {}
    for name, field_type, *values in _VALUES_OF.rows(entity, record_id):
        value = values[_VALUE_INDEX[field_type]]
        if field_type == "multi_choice":
            out.setdefault(name, []).append(value)
            out[name].sort()
        else:
            out[name] = value
    return out


def delete_values(entity: str, record_id: int) -> None:
    fields = CustomField.select(CustomField.id).where(CustomField.entity == entity)
    CustomValue.delete().where((CustomValue.field.in_(fields))
                               & (CustomValue.record_id == record_id)).execute()


def move_values(entity: str, from_id: int, to_id: int) -> None:
    """On merge: the survivor keeps its own values and takes the ones it lacks."""
    fields = CustomField.select(CustomField.id).where(CustomField.entity == entity)
    has = (CustomValue.select(CustomValue.field)
           .where((CustomValue.record_id == to_id) & CustomValue.field.in_(fields)))
    (CustomValue.update(record_id=to_id)
     .where((CustomValue.record_id == from_id) & CustomValue.field.in_(fields)
            & CustomValue.field.not_in(has))
     .execute())
    CustomValue.delete().where((CustomValue.record_id == from_id)
                               & CustomValue.field.in_(fields)).execute()


OPERATORS = ("eq", "gte", "lte", "contains")


def filter_condition(entity: str, id_column, name: str, op: str, raw) -> peewee.Expression:
    """A WHERE condition on ``id_column`` (the record id) for ``custom.<name> <op> raw``."""
    field = fields_for(entity).get(name)
    if field is None:
        raise ValidationError({f"custom.{name}": f"Unknown custom field for {entity}."},
                              location="query")
    parameter = f"custom.{name}" if op == "eq" else f"custom.{name}__{op}"
    if op not in OPERATORS or (op in ("gte", "lte") and field.type not in
                               ("number", "decimal", "date")):
        raise ValidationError({parameter: f"Operator {op!r} does not apply to a "
                                          f"{field.type} field."}, location="query")
    if op == "contains" and field.type != "text":
        # LIKE on a number, date or boolean column is an error on PostgreSQL.
        raise ValidationError({parameter: f"Operator 'contains' applies to text fields only; "
                                          f"{name} is a {field.type} field."}, location="query")
    probe = CustomField(type="text" if field.type == "multi_choice" else field.type,
                        choices=field.choices)
    value, problem = _coerce(probe, raw)
    if problem:
        raise ValidationError({f"custom.{name}": problem}, location="query")
    column = getattr(CustomValue, _COLUMN[field.type])
    if op == "contains":
        test = column.contains(str(raw))
    elif op == "gte":
        test = column >= value
    elif op == "lte":
        test = column <= value
    elif column is CustomValue.text_value and value is not None:
        # Through the prefix index (see TEXT_INDEX), then the whole value.
        test = (_text_key(column) == value[:TEXT_INDEX_PREFIX]) & (column == value)
    else:
        test = column == value
    matching = (CustomValue.select(CustomValue.record_id)
                .where((CustomValue.field == field.id) & test))
    return id_column.in_(matching)


def sort_expression(entity: str, id_column, name: str):
    """A scalar subquery giving each record's value of a single-valued custom field."""
    field = fields_for(entity).get(name)
    if field is None or field.type == "multi_choice":
        raise ValidationError({"sort": f"Cannot sort by custom field {name!r}."},
                              location="query")
    column = getattr(CustomValue, _COLUMN[field.type])
    Value = CustomValue.alias()
    column = getattr(Value, column.name)
    return (Value.select(column)
            .where((Value.field == field.id) & (Value.record_id == id_column))
            .limit(1)), field.type
