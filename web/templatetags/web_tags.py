from decimal import Decimal, InvalidOperation

from django import template
from django.urls import reverse
from django.utils import timezone

from portfolio import evidence, pricing
from portfolio.models import FindingKind
from portfolio.selectors.findings import SHOWN_IN_LIST
from registry.models import Stage, ValueChainLayer

register = template.Library()


@register.filter
def stage_label(value: str) -> str:
    return Stage(value).label if value in Stage.values else value


@register.filter
def kind_label(value: str) -> str:
    return FindingKind(value).label if value in FindingKind.values else value


@register.filter
def get_item(mapping, key):
    return mapping.get(key, 0) if mapping else 0


@register.filter
def money(value) -> str:
    try:
        return f"{float(value):,.0f}"
    except (TypeError, ValueError):
        return "—"


@register.filter
def in_currency(value) -> str:
    """An amount in the registry's currency, to the unit ("118,976 EUR"); "—" for no amount."""
    return "—" if value is None or value == "" else evidence.money(Decimal(value))


@register.filter
def index(sequence, position: int):
    return sequence[position]


@register.filter
def price_basis(kind: str) -> str:
    """What a finding's price counts, in words (portfolio.pricing's rule for its kind)."""
    return pricing.BASIS.get(kind, "")


@register.filter
def price_on_layers(finding) -> str:
    """Where a finding's price is put along the value chain, in words: "data 3,000 EUR, model 1,000 EUR
    (on the layers the duplicated money was spent on)"; "" when it is on none."""
    if not finding.price_by_layer:
        return ""
    labels = dict(ValueChainLayer.choices)
    parts = ", ".join(f"{labels[layer].lower()} {evidence.money(Decimal(amount))}"
                      for layer, amount in sorted(finding.price_by_layer.items(), key=lambda item: -Decimal(item[1])))
    return f"{parts} ({pricing.LAYER_BASIS.get(finding.kind, '')})"


@register.filter
def num(value) -> str:
    """A stored decimal as people write it, grouped: 0.1700 → 0.17, 12.0000 → 12, 167000.00 → 167,000."""
    if value is None or value == "":
        return "—"
    try:
        exact = Decimal(value).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return evidence.number(exact, places=max(-exact.as_tuple().exponent, 0))


@register.filter
def thousands(value) -> str:
    """A count or amount grouped as the settings' locale writes it (3,611); "—" for none."""
    if value is None or value == "":
        return "—"
    try:
        return evidence.number(value)
    except (TypeError, ValueError):
        return str(value)


@register.filter
def left_out(shown, count) -> int:
    """How many of `count` items the list `shown` leaves out: what "… and N more" says."""
    return max(int(count or 0) - len(shown), 0)


@register.filter
def unit_names(use_cases) -> str:
    """The business units of these use cases, each once, in the order first met."""
    return ", ".join(dict.fromkeys(uc.business_unit.name for uc in use_cases)) or "—"


@register.filter
def days_ago(day) -> str:
    """How long ago `day` was, in days: a finding's age in the inbox."""
    if not day:
        return "—"
    days = (timezone.localdate() - day).days
    return "today" if days <= 0 else f"{days:,} d"


@register.simple_tag
def finding_evidence(finding):
    """The finding's evidence, with the members its row was loaded with (`findings_page_rows`),
    each table as short as the member list: the finding's page has the rest."""
    return evidence.present(finding.kind, finding.detail, members=finding.members_shown,
                            member_count=finding.member_count).capped(SHOWN_IN_LIST)


# Where each unmet gate condition is fixed: the decision's form for what the decision lacks, the
# use case's form for owners, readiness and monitoring, the KPI form, the sign-off and practices
# section of its page; a condition of the move itself (a reason, a stage) is fixed in the move form.
_FIXED_ON_DECISION = {"decision_owner", "decision_frequency", "decision_cost_of_error", "execution_point"}
_FIXED_ON_USE_CASE_PAGE = {"decision_stated", "sign_off", "prohibited_practice"}


@register.simple_tag
def fix_url(condition, use_case) -> str:
    """The page where `condition` (a registry.gates.Condition) of `use_case` can be met, or ""."""
    code = condition.code
    if code in _FIXED_ON_DECISION:
        return reverse("web:decision_edit", args=[use_case.decision_id])
    if code == "kpi":
        return reverse("web:kpi_new", args=[use_case.pk])
    if code in _FIXED_ON_USE_CASE_PAGE or code.startswith("practice_"):
        return reverse("web:use_case", args=[use_case.pk]) + "#determinations"
    if code.endswith(("_owner", "_owner_active", "_readiness")) or code == "monitoring_plan":
        return reverse("web:use_case_edit", args=[use_case.pk])
    return ""
