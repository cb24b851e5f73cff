"""Queries composed once (crmkit.prepared): same rows and values as peewee gives, any engine."""
import pytest

from crmkit.auth import tokens, users
from crmkit.auth.models import ApiToken, User
from crmkit.prepared import Prepared

BY_PREFIX = Prepared(lambda: (
    ApiToken.select(ApiToken.id, ApiToken.scopes, ApiToken.created_at, User.active,
                    User.email.alias("who")).join(User).where(ApiToken.prefix == "")))


def test_rows_convert_like_peewee_and_parameters_are_checked(db):
    user = users.create_user("prep@example.com", "Prep", "agent")
    token, plaintext = tokens.create_token(user, "t", scopes=["customers:read"])
    prefix = plaintext.split("_")[1]
    row = BY_PREFIX.first(prefix)
    model = (ApiToken.select(ApiToken, User).join(User).where(ApiToken.prefix == prefix).get())
    assert row == {"id": model.id, "scopes": ["customers:read"], "created_at": model.created_at,
                   "active": True, "who": "prep@example.com"}
    assert row["created_at"].tzinfo is not None
    assert BY_PREFIX.first("nothing-here") is None
    assert BY_PREFIX.rows("nothing-here") == []
    with pytest.raises(TypeError, match="takes 1 parameters"):
        BY_PREFIX.rows(prefix, 1)
