from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.errors import DomainError
from portfolio import access as portfolio_access
from registry.admin import ReadOnlyAdmin, ReadOnlyInline, RoleAwareAdmin

from .evidence import present
from .services.findings import assign_finding, change_finding_status
from .selectors import findings as finding_selectors
from .models import Finding, FindingEvent, FindingStatus, Policy, ScanRun
from .services.policy import save_policy
from .services.scans import ALL_KINDS, start_scan


class FindingActionForm(admin.helpers.ActionForm):
    reason = forms.CharField(required=False, label="Reason", widget=forms.TextInput(attrs={"size": 40}))


class FindingEventInline(ReadOnlyInline):
    model = FindingEvent
    fields = ["occurred_at", "from_status", "to_status", "actor", "scan_run", "reason"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "scan_run")


@admin.register(Finding)
class FindingAdmin(RoleAwareAdmin):
    list_display = ["title", "kind", "severity", "status", "assignee", "first_seen", "last_seen"]
    list_filter = ["kind", "severity", "status"]
    list_select_related = ["assignee"]
    search_fields = ["title", "use_cases__title", "use_cases__external_id", "decisions__statement"]
    date_hierarchy = "last_seen"
    autocomplete_fields = ["assignee"]
    fields = ["title", "kind", "severity", "status", "status_reason", "assignee", "use_cases", "decisions",
              "first_seen", "last_seen", "evidence", "detail", "fingerprint"]
    readonly_fields = [f for f in fields if f != "assignee"]
    # The rows of each evidence table shown here; the finding's page lists them all.
    evidence_rows = 20
    inlines = [FindingEventInline]
    action_form = FindingActionForm
    actions = ["acknowledge", "resolve", "dismiss", "reopen"]

    def get_queryset(self, request):
        return finding_selectors.visible_to(request.user, super().get_queryset(request))

    @admin.display(description="Evidence")
    def evidence(self, finding):
        members = finding_selectors.finding_members(finding)
        return render_to_string("portfolio/admin_evidence.html", {
            "evidence": present(finding.kind, finding.detail, members=members[:self.evidence_rows],
                                member_count=members.count()).capped(self.evidence_rows),
            "url": reverse("web:finding", args=[finding.pk]),
        })

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        assign_finding(finding=obj, assignee=obj.assignee, actor=request.user)

    def _change(self, request, queryset, to_status):
        reason = request.POST.get("reason", "")
        changed = 0
        for finding in queryset:
            try:
                change_finding_status(finding=finding, to_status=to_status, actor=request.user, reason=reason)
            except DomainError as refused:
                self.message_user(request, f"'{finding}': {refused.message}", messages.ERROR)
            else:
                changed += 1
        if changed:
            self.message_user(request, f"{changed} finding(s) now {to_status}.", messages.SUCCESS)

    @admin.action(description="Acknowledge selected findings")
    def acknowledge(self, request, queryset):
        self._change(request, queryset, FindingStatus.ACKNOWLEDGED)

    @admin.action(description="Resolve selected findings")
    def resolve(self, request, queryset):
        self._change(request, queryset, FindingStatus.RESOLVED)

    @admin.action(description="Dismiss selected findings (give a reason)")
    def dismiss(self, request, queryset):
        self._change(request, queryset, FindingStatus.DISMISSED)

    @admin.action(description="Reopen selected findings")
    def reopen(self, request, queryset):
        self._change(request, queryset, FindingStatus.OPEN)


class StartScanForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        choices=[(kind, kind.replace("_", " ")) for kind in ALL_KINDS], initial=ALL_KINDS,
        widget=forms.CheckboxSelectMultiple, help_text="The scans to run.",
    )
    as_of = forms.DateField(required=False, help_text="Judge the portfolio as on this date (YYYY-MM-DD); empty for today.")


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "as_of", "kinds", "status", "queued_at", "started_at", "duration", "opened", "still_open",
                    "resolved", "triggered_by"]
    list_filter = ["status"]
    list_select_related = ["triggered_by"]
    date_hierarchy = "queued_at"
    change_list_template = "admin/portfolio/scanrun/change_list.html"

    def get_urls(self):
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name="portfolio_scanrun_start"),
            *super().get_urls(),
        ]

    def start_view(self, request):
        if not portfolio_access.offer_findings(request.user).run_scans:
            raise PermissionDenied
        form = StartScanForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                scan_run = start_scan(kinds=form.cleaned_data["kinds"], as_of=form.cleaned_data["as_of"],
                                      actor=request.user)
            except DomainError as refused:
                self.message_user(request, refused.message, messages.ERROR)
            else:
                self.message_user(request, f"Scan run {scan_run.pk} is {scan_run.status}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:portfolio_scanrun_changelist"))
        context = {**self.admin_site.each_context(request), "title": "Start a scan", "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/portfolio/scanrun/start.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_start_scan": portfolio_access.offer_findings(request.user).run_scans}
        return super().changelist_view(request, extra_context)


@admin.register(Policy)
class PolicyAdmin(RoleAwareAdmin):
    list_display = ["__str__", "pilot_max_days", "validating_max_days", "inactivity_days",
                    "ownership_confirmation_days", "kpi_observation_days", "duplicate_min_similarity",
                    "value_min_observations", "value_min_production_days", "lopsided_spend_share",
                    "lopsided_readiness_gap"]
    readonly_fields = ["updated_at"]

    def save_model(self, request, obj, form, change):
        save_policy(policy=obj, actor=request.user)

    def has_add_permission(self, request, *args):
        return not Policy.objects.exists() and super().has_add_permission(request, *args)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return portfolio_access.offer_findings(request.user).run_scans and super().has_change_permission(request, obj)

    def changelist_view(self, request, extra_context=None):
        # One policy: the list is just a step on the way to it.
        policy = Policy.current()
        return HttpResponseRedirect(reverse("admin:portfolio_policy_change", args=[policy.pk]))
