"""Making room for the demo: refuse a registry that holds data, or empty it when asked to."""

from __future__ import annotations

import graphlib

from django.apps import apps
from django.db import models, transaction

from registry.models import BusinessUnit, Decision, EUObligation, FrictionPoint, Person, UseCase


class RegistryNotEmpty(Exception):
    """The registry already holds data; seeding on top of it would mix demo and real rows."""


def make_room_for_demo(*, reset: bool) -> None:
    """Empty the registry when asked to; otherwise refuse to seed over what it holds."""
    if reset:
        clear_registry()
    elif registry_holds_data():
        raise RegistryNotEmpty(
            "The registry already holds data; seed_demo only fills an empty registry. "
            "Run it with --reset to delete everything in the registry and start over."
        )


def registry_holds_data() -> bool:
    return any(model.objects.exists() for model in (BusinessUnit, Person, Decision, UseCase))


def _models_to_clear() -> list[type[models.Model]]:
    """Registry tables (history included) and, anywhere, tables whose rows point at them.

    Ordered so that rows pointing at others go first. Friction points and the EU AI Act's
    obligations are reference data from a migration and stay.
    """
    doomed = {m for m in apps.get_app_config("registry").get_models(include_auto_created=True)
              if m not in (FrictionPoint, EUObligation)}
    all_models = apps.get_models(include_auto_created=True)
    while True:
        referrers = {
            model for model in all_models
            if model not in doomed
            and any(f.many_to_one or f.one_to_one for f in model._meta.concrete_fields if f.related_model in doomed)
        }
        if not referrers:
            break
        doomed |= referrers
    referrers_of = {model: set() for model in doomed}
    for model in doomed:
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model in doomed and f.related_model is not model:
                referrers_of[f.related_model].add(model)
    return list(graphlib.TopologicalSorter(referrers_of).static_order())


def clear_registry() -> None:
    """Delete every registry row and its history, bypassing model methods and signals.

    StageTransition refuses `delete()` by design, and history signals would write a
    deletion record per row; a demo reset wants neither.
    """
    with transaction.atomic():
        for model in _models_to_clear():
            queryset = model._base_manager.all()
            queryset._raw_delete(queryset.db)
