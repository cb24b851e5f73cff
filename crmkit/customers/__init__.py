"""Customer data: the unified profile and timeline every plugin builds on."""
from crmkit.custom_fields import CustomField, CustomValue
from crmkit.customers.models import (Customer, CustomerEmail, CustomerPhone, CustomerTag,
                                     Interaction, NotDuplicate, Tag)

MODELS = [Customer, CustomerEmail, CustomerPhone, Tag, CustomerTag, Interaction, CustomField,
          CustomValue, NotDuplicate]

__all__ = ["MODELS", "Customer", "CustomerEmail", "CustomerPhone", "CustomerTag", "CustomField",
           "CustomValue", "Interaction", "NotDuplicate", "Tag"]
