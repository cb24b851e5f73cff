"""Reads composed once per engine and run again with new parameters, for the hottest paths.

peewee builds SQL from an expression tree on every call. For a query that runs on every request
(the token check, reading one customer) composing it costs several times more than SQLite takes
to run it, so these few queries are composed once, on first use, and kept as text::

    _ONE = Prepared(lambda: Customer.select().where(Customer.id == 0))
    row = _ONE.first(customer_id)      # a dict of python values keyed by the selected names

The query ``build`` returns is written with placeholder values; :meth:`Prepared.rows` takes the
real ones in the order they appear in the SQL. The text is kept per database class (SQLite and
PostgreSQL quote and mark parameters differently); values come back through each selected
field's ``python_value``, exactly as peewee would convert them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peewee

from crmkit.db import database


class Prepared:
    def __init__(self, build: Callable[[], peewee.SelectQuery]):
        self._build = build
        self._compiled: dict[type, tuple[str, int, tuple[str, ...], tuple]] = {}

    def _compile(self) -> tuple[str, int, tuple[str, ...], tuple]:
        engine = type(database.obj)
        compiled = self._compiled.get(engine)
        if compiled is None:
            query = self._build()
            sql, params = query.sql()
            names, converters = [], []
            for column in query._returning:
                field = column if isinstance(column, peewee.Field) else None
                if isinstance(column, peewee.Alias):
                    names.append(column._alias)
                    field = column.node if isinstance(column.node, peewee.Field) else None
                else:
                    names.append(field.name if field is not None else str(column))
                converters.append(field.python_value if field is not None else None)
            compiled = (sql, len(params), tuple(names), tuple(converters))
            self._compiled[engine] = compiled
        return compiled

    def rows(self, *params: Any) -> list[tuple]:
        """Every row, each value converted as its field converts it."""
        sql, count, _, converters = self._compile()
        if len(params) != count:
            raise TypeError(f"this query takes {count} parameters, not {len(params)}")
        return [tuple(value if convert is None or value is None else convert(value)
                      for convert, value in zip(converters, row))
                for row in database.execute_sql(sql, params).fetchall()]

    def first(self, *params: Any) -> dict[str, Any] | None:
        """The first row as ``{name: value}`` (field names, or aliases), or None."""
        rows = self.rows(*params)
        return dict(zip(self._compile()[2], rows[0])) if rows else None
