"""What every kind of import shares: prepared rows, per-row outcomes and cell checks."""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

import marshmallow as ma

from crmkit.errors import ValidationError
from crmkit.imports.csvfile import Layout

CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED = (
    "created", "updated", "unchanged", "skipped", "failed")
LIST_SEPARATOR = "|"


@dataclass
class Prepared:
    """A row whose cells passed the checks that need no database, waiting for its batch."""

    row: int
    data: dict
    # Keys no two rows of one batch may share (an email, a phone, a file id): a row whose key
    # an earlier row of the batch holds starts the next batch, so it sees that row stored.
    keys: tuple[Hashable, ...] = ()
    # Keys of other rows this one builds on (a company's file id): it waits for the next batch
    # when a row of the current batch holds one.
    needs: tuple[Hashable, ...] = ()
    extra: dict = field(default_factory=dict)


@dataclass
class Outcome:
    row: int
    status: str
    problems: list[tuple[str | None, str]] = field(default_factory=list)  # (column, message)
    record_id: int | None = None


def failed(row: int, problems: list[tuple[str | None, str]]) -> Outcome:
    return Outcome(row, FAILED, problems)


def problems_of(exc: ValidationError, layout: Layout) -> list[tuple[str | None, str]]:
    """A ValidationError's field messages as (CSV column, message) pairs."""
    out = []
    for name, messages in exc.fields.items():
        column = layout.column_of(name)
        prefix = "" if column is not None and name == _field_of(layout, column) else f"{name}: "
        for message in messages:
            out.append((column, prefix + str(message)))
    return out


def _field_of(layout: Layout, column: str) -> str | None:
    for header, target in zip(layout.header, layout.fields):
        if header == column:
            return target
    return None


def _quick(validator) -> Callable[[object], bool]:
    """A cheap test that passes exactly when ``validator`` would; on failure the validator
    itself runs, for its message."""
    if isinstance(validator, ma.validate.Length) and validator.equal is None:
        low = validator.min if validator.min is not None else 0
        high = validator.max if validator.max is not None else float("inf")
        return lambda value: low <= len(value) <= high
    if isinstance(validator, ma.validate.OneOf):
        choices = frozenset(validator.choices)
        return lambda value: value in choices
    if isinstance(validator, ma.validate.Regexp):
        return lambda value: validator.regex.match(value) is not None

    def run(value) -> bool:
        try:
            validator(value)
        except ma.ValidationError:
            return False
        return True

    return run


class CellChecks:
    """The validators of an API load schema, applied to single values.

    A full ``schema.load`` per row costs more than the rest of an import's checks together; the
    validators themselves (lengths, choices, patterns) are the rules, and both doors apply them.
    """

    def __init__(self, schema: ma.Schema):
        self.checks: dict[str, list[tuple[Callable, Callable]]] = {}
        self.item_checks: dict[str, list[tuple[Callable, Callable]]] = {}
        for name, schema_field in schema.fields.items():
            pairs = [(_quick(v), v) for v in schema_field.validators]
            inner = getattr(schema_field, "inner", None)
            if inner is not None:
                self.item_checks[name] = [(_quick(v), v) for v in inner.validators]
            if pairs:
                self.checks[name] = pairs

    def __contains__(self, name: str) -> bool:
        return name in self.checks or name in self.item_checks

    def passes(self, name: str) -> Callable[[object], bool] | None:
        """One test that holds exactly when :meth:`check` would find nothing wrong with a value
        of ``name`` (None: ``name`` has no checks). Rows that pass it skip :meth:`check`."""
        if name not in self:
            return None
        tests = [quick for quick, _ in self.checks.get(name, ())]
        item_tests = [quick for quick, _ in self.item_checks.get(name, ())]
        if not item_tests and len(tests) == 1:
            return tests[0]

        def test(value) -> bool:
            if not all(quick(value) for quick in tests):
                return False
            if item_tests and isinstance(value, list):
                return all(quick(item) for item in value for quick in item_tests)
            return True

        return test

    def check(self, name: str, value, problems: dict[str, str]) -> None:
        pairs = self.checks.get(name, ())
        items = self.item_checks.get(name, ()) if isinstance(value, list) else ()
        try:
            for quick, validator in pairs:
                if not quick(value):
                    validator(value)
            for item in (value if items else ()):
                for quick, validator in items:
                    if not quick(item):
                        validator(item)
        except ma.ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
            problems[name] = str(messages[0])


# Inside a list cell an item's own ``|`` is written ``\|`` and its ``\`` is written ``\\``, so
# a tag or choice holding ``|`` survives an export and import. Import reads any other ``\`` as
# it is (``c:\dir`` typed by hand stays ``c:\dir``).
_ESCAPABLE = ("\\", LIST_SEPARATOR)


def join_list(items) -> str:
    """``["a|b", "c"]`` -> ``"a\\|b|c"``: the cell :func:`split_list` reads back as ``items``."""
    return LIST_SEPARATOR.join(
        item.replace("\\", "\\\\").replace(LIST_SEPARATOR, "\\" + LIST_SEPARATOR)
        for item in items)


def split_list(raw: str) -> list[str]:
    """``"a| b ||c"`` -> ``["a", "b", "c"]``; ``"a\\|b|c"`` -> ``["a|b", "c"]``."""
    if "\\" not in raw:  # nearly every cell: nothing escaped
        return [part.strip() for part in raw.split(LIST_SEPARATOR) if part.strip()]
    parts, current, position = [], [], 0
    while position < len(raw):
        char = raw[position]
        if char == "\\" and raw[position + 1:position + 2] in _ESCAPABLE:
            current.append(raw[position + 1])
            position += 2
            continue
        if char == LIST_SEPARATOR:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        position += 1
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def cell_count_problem(cells: list[str], layout: Layout) -> str | None:
    if len(cells) == len(layout.header):
        return None
    return (f"The row has {len(cells)} cells; the header has {len(layout.header)} (a value with "
            "the delimiter in it needs quotes).")


# Ids are 32-bit on PostgreSQL (SERIAL); a source system's ids may be up to 64-bit.
ID_LIMIT = 2 ** 31
SOURCE_ID_LIMIT = 2 ** 63


def as_int(raw: str, limit: int = ID_LIMIT) -> int | None:
    """The whole number in ``raw`` if it is one below ``limit`` (either sign), else None: a
    larger one fits no column, and failed the whole batch where it was bound."""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if -limit < value < limit else None


def as_source_id(raw: str) -> int | None:
    return as_int(raw, SOURCE_ID_LIMIT)


def column_problems(problems: Mapping[str, str], layout: Layout) -> list[tuple[str | None, str]]:
    return problems_of(ValidationError(dict(problems)), layout)
