"""The portfolio's tables in the audit log (registry/audit.py): findings, their status changes
and the policy."""

from registry.audit import AuditSource

PORTFOLIO_SOURCES = (
    AuditSource("portfolio.HistoricalFinding", "finding", "finding", "{r}.id"),
    AuditSource("portfolio.FindingEvent", "finding status", "finding", "{r}.finding_id", kind="'finding status'",
                at="{r}.occurred_at", user="{r}.actor_id", reason="{r}.reason",
                change_fields=("from_status", "to_status"),
                # A finding's opening is its creation, which the entry of its first history row
                # records: one entry, not two, for each of the tens of thousands a scan opens.
                logged="{r}.from_status <> ''"),
    AuditSource("portfolio.HistoricalPolicy", "policy", "policy", "{r}.id"),
)
