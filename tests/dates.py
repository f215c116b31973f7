"""Dates and times the detector tests build their timelines from."""

import datetime

from django.utils import timezone

DAY = datetime.timedelta(days=1)


def days(n: int) -> datetime.timedelta:
    return n * DAY


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    """An aware moment on `day`, mid-morning unless told otherwise."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
