"""The portfolio's pure rules, without a database: severity ordering and the finding lifecycle's
allowed changes."""

import pytest

from portfolio.detectors.base import severity_up
from portfolio.models import SEVERITY_ORDER, FindingStatus, Severity
from portfolio.services.findings import ALLOWED_CHANGES, allowed_changes


def test_severities_go_from_low_to_critical():
    assert SEVERITY_ORDER == [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    assert set(SEVERITY_ORDER) == set(Severity.values)


@pytest.mark.parametrize("severity, levels, expected", [
    ("low", 1, "medium"),
    ("medium", 1, "high"),
    ("high", 1, "critical"),
    ("critical", 1, "critical"),  # never above critical
    ("low", 2, "high"),
    ("low", 5, "critical"),
    ("medium", 0, "medium"),
])
def test_severity_up_climbs_and_stops_at_critical(severity, levels, expected):
    assert severity_up(severity, levels) == expected


def test_an_active_finding_may_be_resolved_or_dismissed():
    for status in (FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED):
        assert {FindingStatus.RESOLVED, FindingStatus.DISMISSED} <= set(allowed_changes(status))


def test_only_an_open_finding_may_be_acknowledged():
    assert [s for s in FindingStatus if FindingStatus.ACKNOWLEDGED in allowed_changes(s)] == [FindingStatus.OPEN]


def test_a_closed_finding_may_only_be_reopened():
    assert allowed_changes(FindingStatus.RESOLVED) == (FindingStatus.OPEN,)
    assert allowed_changes(FindingStatus.DISMISSED) == (FindingStatus.OPEN,)


def test_no_status_moves_to_itself_and_every_status_has_a_way_on():
    for status in FindingStatus:
        assert status not in allowed_changes(status)
        assert allowed_changes(status), status
    assert set(ALLOWED_CHANGES) == set(FindingStatus)


def test_an_unknown_status_allows_nothing():
    assert allowed_changes("exploded") == ()


def test_the_moves_are_offered_in_a_fixed_order():
    assert allowed_changes(FindingStatus.OPEN) == (FindingStatus.ACKNOWLEDGED, FindingStatus.RESOLVED,
                                                   FindingStatus.DISMISSED)
    assert allowed_changes(FindingStatus.ACKNOWLEDGED) == (FindingStatus.RESOLVED, FindingStatus.DISMISSED,
                                                           FindingStatus.OPEN)
