"""Kernel: pairs of customers marked "not duplicates", and the format of an import file."""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = "customer"

    class NotDuplicate(Model):
        customer_low = ForeignKeyField(Customer, backref="+", on_delete="CASCADE")
        customer_high = ForeignKeyField(Customer, backref="+", on_delete="CASCADE")
        created_by = IntegerField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "customer_not_duplicate"
            indexes = ((("customer_low", "customer_high"), True),)

    db.create_tables([NotDuplicate])
    migrator.migrate(migrator.add_column("import_job", "format",
                                         CharField(max_length=10, default="csv")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("import_job", "format"),
                     migrator.drop_table("customer_not_duplicate"))
