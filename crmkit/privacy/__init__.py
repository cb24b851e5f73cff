"""Personal data: export of everything held on a person, erasure, and marketing consent.

Plugins honour consent with :func:`crmkit.privacy.consent.has_consent` or, in SQL,
:func:`crmkit.privacy.consent.consenting_customer_ids`.
"""
