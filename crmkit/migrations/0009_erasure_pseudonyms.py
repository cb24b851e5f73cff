"""Kernel: erased customers go by a pseudonym that no setting changes.

Pseudonyms were salted with the database URL, so an erased customer stopped counting as erased
once the URL changed (a new password, host or option), and the hash published the URL. They now
depend on the customer id alone (``crmkit.privacy.personal_data.pseudonym_for``). Customers erased
before keep their anonymised record; their name becomes the new pseudonym. They are found by
what erasure leaves: a name that is ``erased-`` and 12 hex digits with every personal field
blank. Copies of the old pseudonym in audit records and redacted events stay as they are.
"""
import hashlib
import re

_OLD = re.compile(r"erased-[0-9a-f]{12}")
_BLANK = ("first_name", "last_name", "job_title", "email", "phone", "street", "city", "region",
          "postal_code", "notes")


def _pseudonym(customer_id: int) -> str:  # frozen copy: the rule as of this migration
    digest = hashlib.sha256(f"crmkit erased customer {int(customer_id)}".encode()).hexdigest()
    return f"erased-{digest[:12]}"


def up(migrator, db):
    blank = " AND ".join(f'"{name}" IS NULL' for name in _BLANK)
    found = db.execute_sql(f"SELECT id, name FROM customer WHERE name LIKE {db.param} AND {blank}",
                           ("erased-%",)).fetchall()
    for customer_id, name in found:
        if _OLD.fullmatch(name) and name != _pseudonym(customer_id):
            db.execute_sql(f"UPDATE customer SET name = {db.param} WHERE id = {db.param}",
                           (_pseudonym(customer_id), customer_id))


def down(migrator, db):
    pass  # the old names were hashes of a URL: nothing to go back to, nor any need
