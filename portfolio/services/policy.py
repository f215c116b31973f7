"""The scan policy: the thresholds the program office sets."""

from __future__ import annotations

from django.utils import timezone

from core.actors import acting_user
from core.validation import validated
from registry.access import require

from ..access import can_change_policy
from ..models import Policy


def save_policy(*, policy: Policy, actor) -> Policy:
    """Save the edited policy (the program office's); the next scan judges by it."""
    require(can_change_policy(actor), "The scan policy is the program office's.")
    validated(policy)
    policy.updated_at = timezone.now()
    policy._history_user = acting_user(actor)
    policy.save()
    return policy
