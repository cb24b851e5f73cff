"""Kernel: text custom values are indexed by their first 200 characters, not the whole value.

PostgreSQL refuses a b-tree entry above 2704 bytes, so a text value of 1000 characters (allowed)
in a 3- or 4-byte script could not be stored. Lookups now match the prefix through the index and
then compare the whole value (crmkit.custom_fields.filter_condition). SQLite and PostgreSQL both
index the expression.

``down`` puts the whole-value index back; on PostgreSQL it fails while a value too long for it
is stored, as the schema before this script did.
"""

INDEX = "custom_value_field_id_text_prefix"


def up(migrator, db):
    # Found by its columns: a database built by these scripts names it customvalue_..., one
    # built from the models custom_value_...
    old = [index.name for index in db.get_indexes("custom_value")
           if index.columns == ["field_id", "text_value"]]
    # The expression the model declares: queries use the index only through that expression.
    migrator.migrate(*[migrator.drop_index("custom_value", name) for name in old],
                     migrator.sql(f'CREATE INDEX "{INDEX}" ON "custom_value" '
                                  '("field_id", SUBSTR("text_value", 1, 200))'))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("custom_value", INDEX),
                     migrator.add_index("custom_value", ("field_id", "text_value"), False))
