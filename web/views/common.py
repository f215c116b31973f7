"""What the pages share: where to go next, the use case card (the home page's unit of work)
and how an in-place action answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from registry import access
from registry.gates import NEXT_STAGE, unmet_conditions
from registry.models import Stage, UseCase
from registry.selectors import audit as audit_selectors

from .. import selectors
from ..errors import form_error_text
from ..forms import KPIObservationForm, MoveForm, StateDecisionForm

PAGE_SIZE = 25


def next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def posted(request):
    """The submitted data on POST (even when empty, so a blank form is refused), else unbound."""
    return request.POST if request.method == "POST" else None


@dataclass
class Feedback:
    """What an in-place action tells the user, shown inside the card it acted on."""

    success: str = ""
    error: str = ""
    unmet: list = field(default_factory=list)
    refused_stage: str = ""
    form_errors: dict = field(default_factory=dict)

    def to_messages(self, request) -> None:
        if self.success:
            messages.success(request, self.success)
        if self.error:
            messages.error(request, self.error)
        if self.unmet:
            messages.error(request, f"Not moved to {Stage(self.refused_stage).label}. Still needed: "
                           + "; ".join(c.message for c in self.unmet) + ".")
        for name, errors in self.form_errors.items():
            for error in errors:
                messages.error(request, f"{name}: {error}" if name != "__all__" else error)


def decorate(use_case: UseCase, user, *, today, move_input: dict | None = None) -> UseCase:
    """Attach what a card shows and offers; no queries (everything is prefetched). `move_input`
    puts a refused move's stage and reason back in the move form."""
    use_case.days_in_stage = (today - use_case.stage_entered_on).days if use_case.stage_entered_on else None
    use_case.next_stage, use_case.needs = (NEXT_STAGE.get(use_case.stage), [])
    if use_case.next_stage:
        use_case.needs = unmet_conditions(use_case, use_case.next_stage)
        use_case.next_stage_label = Stage(use_case.next_stage).label
    # A retired use case is out of the daily work: its card offers no action (its page still
    # moves it back to proposed).
    use_case.in_play = use_case.stage != Stage.RETIRED
    offer = access.offer_use_case(user, use_case)
    use_case.can_change, use_case.can_confirm = offer.change, offer.confirm
    use_case.kpi_list = list(use_case.kpis.all())
    if use_case.can_change:
        use_case.move_form = MoveForm(use_case=use_case, initial=move_input, auto_id=f"uc{use_case.pk}-move-%s")
        if use_case.kpi_list:
            use_case.kpi_form = KPIObservationForm(use_case=use_case, auto_id=f"uc{use_case.pk}-kpi-%s")
        if not use_case.decision.is_defined:
            use_case.state_form = state_form_for(use_case)
    return use_case


def state_form_for(use_case: UseCase, data=None) -> StateDecisionForm:
    return StateDecisionForm(data, use_case=use_case, auto_id=f"uc{use_case.pk}-decision-%s")


def card(request, pk: int, feedback: Feedback | None = None, status: int = 200,
          state_form: StateDecisionForm | None = None, move_input: dict | None = None) -> HttpResponse:
    use_case = selectors.use_cases_for_cards().get(pk=pk)
    decorate(use_case, request.user, today=timezone.localdate(), move_input=move_input)
    feedback = show_refused_statement(use_case, state_form, feedback or Feedback())
    return render(request, "web/_use_case_card.html",
                  {"uc": use_case, "feedback": feedback, "next": next_url(request, reverse("web:home"))},
                  status=status)


def show_refused_statement(use_case: UseCase, state_form: StateDecisionForm | None, feedback: Feedback) -> Feedback:
    """Put a refused decision statement back where it was typed, its error beside it; if the
    use case serves a decision by now there is no form to show it in, so `feedback` says it."""
    if state_form is not None:
        if getattr(use_case, "state_form", None) is not None:
            use_case.state_form = state_form
        else:
            feedback.error = form_error_text(state_form)
    return feedback


def answer(request, use_case: UseCase, feedback: Feedback) -> HttpResponse:
    if request.htmx:
        return card(request, use_case.pk, feedback)
    feedback.to_messages(request)
    return redirect(next_url(request, reverse("web:use_case", args=[use_case.pk])))


def card_use_case(request, pk, *, to_change: bool = False) -> UseCase:
    """The use case `pk` with what its card shows, for the signed-in user (404, 403)."""
    return access.access_use_case(request.user, pk, to_change=to_change, queryset=selectors.use_cases_for_cards())


def record_part(request, subject_type: str, subject_id: int) -> dict:
    """What a record's page shows of the log: its latest entries, and a link to the rest for
    those who read the whole log."""
    url = ""
    if access.reach(request.user).see_audit_log:
        url = reverse("web:audit_log") + "?" + urlencode({"subject_type": subject_type, "subject_id": subject_id})
    return {"history": audit_selectors.record_part(subject_type, subject_id), "audit_log_url": url}
