"""Forms of the pages: they read and validate input; the registry's services do the writes."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from core.text import collapse_whitespace, normalise_email
from portfolio.models import FindingKind, FindingStatus, Severity
from portfolio.selectors.findings import INBOX_ORDER_LABELS
from registry.gates import ALLOWED_MOVES, default_move
from web.models import ImportJob
from registry.models import (
    KPI,
    SIGN_OFF_STAGE_CHOICES,
    VALUE_CHAIN_LAYERS,
    AnnexIIIArea,
    BusinessUnit,
    Decision,
    DerogationCondition,
    EURiskClass,
    EURole,
    HighImpact,
    Frequency,
    FrictionPoint,
    Person,
    Practice,
    PracticeStatus,
    SignOffOutcome,
    Stage,
    UseCase,
    ValueChainLayer,
)


class PersonEmailField(forms.EmailField):
    """A directory person named by email; blank means nobody."""

    def clean(self, value):
        email = super().clean(value)
        if not email:
            return None
        person = Person.objects.filter(email=normalise_email(email)).first()
        if person is None:
            raise forms.ValidationError(f"No person with email '{email}' in the directory.")
        return person


class VersionedForm(forms.ModelForm):
    """Carries the version the editor read, so a save over someone's newer edit is refused."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version
            self.fields["expected_version"].required = True


class DecisionForm(VersionedForm):
    owner_email = PersonEmailField(
        label="Owner (email)", required=False, help_text="The person accountable for this decision."
    )

    class Meta:
        model = Decision
        fields = [
            "statement", "business_unit", "frequency", "decisions_per_period", "cost_of_error",
            "cost_of_delay_per_day", "execution_point", "current_method",
        ]
        widgets = {"statement": forms.TextInput(attrs={"size": 60})}

    def __init__(self, *args, owner_fixed: Person | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_fixed = owner_fixed
        self.fields["business_unit"].queryset = BusinessUnit.objects.order_by("name")
        if owner_fixed is not None:
            del self.fields["owner_email"]
        elif self.instance.pk and self.instance.owner_id:
            self.fields["owner_email"].initial = self.instance.owner.email

    def clean_statement(self):
        return collapse_whitespace(self.cleaned_data["statement"])

    def apply(self) -> Decision:
        """The decision with the form's values, unsaved: the service saves it."""
        decision = self.instance
        for name in self._meta.fields:
            setattr(decision, name, self.cleaned_data[name])
        decision.owner = self.owner_fixed if self.owner_fixed is not None else self.cleaned_data.get("owner_email")
        return decision

    def validate_unique(self):
        # The unique (unit, statement) check names the field instead of failing on save.
        super().validate_unique()


class UseCaseForm(VersionedForm):
    business_owner_email = PersonEmailField(label="Business owner (email)", required=False,
                                            help_text="Accountable for the value.")
    technical_owner_email = PersonEmailField(label="Technical owner (email)", required=False,
                                             help_text="Accountable for running it.")
    friction_points = forms.ModelMultipleChoiceField(
        queryset=FrictionPoint.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="What blocks this use case today.",
    )

    class Meta:
        model = UseCase
        fields = [
            "title", "summary", "capability", "external_id",
            *[f"{layer}_readiness" for layer in VALUE_CHAIN_LAYERS],
            "expected_annual_value", "monitoring_plan",
        ]
        widgets = {"summary": forms.Textarea(attrs={"rows": 3}), "monitoring_plan": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for role in ("business", "technical"):
                owner = getattr(self.instance, f"{role}_owner")
                self.fields[f"{role}_owner_email"].initial = owner.email if owner else ""
            self.fields["friction_points"].initial = list(self.instance.friction_points.values_list("pk", flat=True))

    def clean_external_id(self):
        external_id = (self.cleaned_data.get("external_id") or "").strip() or None
        if external_id and UseCase.objects.filter(external_id=external_id).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another use case already has this external id.")
        return external_id

    def apply(self) -> UseCase:
        use_case = self.instance
        for name in self._meta.fields:
            setattr(use_case, name, self.cleaned_data[name])
        use_case.business_owner = self.cleaned_data.get("business_owner_email")
        use_case.technical_owner = self.cleaned_data.get("technical_owner_email")
        return use_case


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to", choices=Stage.choices)
    reason = forms.CharField(label="Evidence or reason", required=False, max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, use_case: UseCase, **kwargs):
        super().__init__(*args, **kwargs)
        targets = [to for (frm, to) in ALLOWED_MOVES if frm == use_case.stage]
        order = list(Stage.values)
        self.fields["to_stage"].choices = [(s, Stage(s).label) for s in sorted(targets, key=order.index)]
        self.fields["to_stage"].initial = default_move(use_case.stage)
        self.fields["expected_version"].initial = use_case.version


class StateDecisionForm(forms.Form):
    """The decision a use case under a placeholder really changes. The rules (blank, too long,
    the placeholder's own wording, already stated, stale) are `registry.services.state_decision`'s;
    the view puts its refusals next to the statement."""

    statement = forms.CharField(
        label="State the decision this use case changes", required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Which claims are fast-tracked today?"}),
    )
    frequency = forms.ChoiceField(label="How often it is made", required=False,
                                  choices=[("", "not known yet"), *Frequency.choices])
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, use_case: UseCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = use_case.version


class KPIObservationForm(forms.Form):
    kpi = forms.ModelChoiceField(queryset=KPI.objects.none(), label="KPI", empty_label=None)
    observed_on = forms.DateField(label="On", widget=forms.DateInput(attrs={"type": "date"}))
    value = forms.DecimalField(label="Value", max_digits=18, decimal_places=4)

    def __init__(self, *args, use_case: UseCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kpi"].queryset = KPI.objects.filter(use_case=use_case).order_by("name")
        kpis = list(getattr(use_case, "_prefetched_objects_cache", {}).get("kpis", []))
        if kpis:
            self.fields["kpi"].choices = [(k.pk, str(k)) for k in kpis]
        self.fields["observed_on"].initial = timezone.localdate()


class KPIForm(forms.ModelForm):
    class Meta:
        model = KPI
        fields = ["name", "unit", "direction", "baseline", "target", "value_per_unit", "value_period"]

    def __init__(self, *args, use_case: UseCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.use_case = use_case

    def clean_name(self):
        name = collapse_whitespace(self.cleaned_data["name"])
        if KPI.objects.filter(use_case=self.instance.use_case, name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This use case already has a KPI with that name.")
        return name


class InvestmentForm(forms.Form):
    """What was planned for and spent on one value-chain layer over a period; the same layer
    and period start again corrects it. The service judges the period and the amounts."""

    layer = forms.ChoiceField(choices=ValueChainLayer.choices)
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    planned = forms.DecimalField(max_digits=16, decimal_places=2)
    spent = forms.DecimalField(max_digits=16, decimal_places=2)


STATUS_CHOICES = [("active", "Open or acknowledged"), ("", "Any status"), *FindingStatus.choices]


class FindingFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Any kind"), *FindingKind.choices], required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *reversed(Severity.choices)], required=False)
    unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.order_by("name"), required=False,
                                  empty_label="Any unit", label="Business unit")
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    layer = forms.ChoiceField(choices=[("", "Any layer"), *ValueChainLayer.choices], required=False,
                              label="Price on layer")
    owner = forms.EmailField(required=False, label="Owner or assignee (email)")
    assignee = forms.EmailField(required=False, label="Assigned to (email)")
    mine = forms.BooleanField(required=False, label="Assigned to me")
    order = forms.ChoiceField(choices=list(INBOX_ORDER_LABELS.items()), required=False, label="Sort")


class IdListField(forms.Field):
    """Many whole-number ids, one per value of the same name (the inbox's row checkboxes)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            ids = [int(item) for item in value or []]
        except (TypeError, ValueError):
            raise forms.ValidationError("Ids are whole numbers.") from None
        if any(not 0 < item < 2**63 for item in ids):
            raise forms.ValidationError("Ids are whole numbers above zero.")
        return ids


class FindingBulkForm(forms.Form):
    """One action on the findings ticked in the inbox, or on all that match its filter."""

    action = forms.ChoiceField(choices=[("acknowledge", "Acknowledge"), ("assign", "Assign to"),
                                        ("dismiss", "Dismiss"), ("reopen", "Reopen")])
    ids = IdListField(required=False)
    all_matching = forms.BooleanField(required=False)
    filter = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    assignee = forms.EmailField(required=False, label="Assignee (email)")
    reason = forms.CharField(required=False, max_length=5000, label="Reason")

    def clean(self):
        data = super().clean()
        if not data.get("all_matching") and not data.get("ids") and "ids" not in self.errors:
            self.add_error("ids", "Tick the findings to act on, or all that match the filter.")
        return data


class FindingActionForm(forms.Form):
    ACTIONS = {"acknowledge": FindingStatus.ACKNOWLEDGED, "resolve": FindingStatus.RESOLVED,
               "dismiss": FindingStatus.DISMISSED, "reopen": FindingStatus.OPEN}
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    reason = forms.CharField(required=False, max_length=5000)  # dismissing needs one: the service says so

    @property
    def to_status(self) -> str:
        return self.ACTIONS[self.cleaned_data["action"]]


class AssignForm(forms.Form):
    assignee = PersonEmailField(required=False, label="Assign to (email)",
                                help_text="Leave blank to unassign.")


class DashboardFilterForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.order_by("name"), required=False,
                                  empty_label="All units", label="Business unit")


class ComplianceFilterForm(DashboardFilterForm):
    stage = forms.ChoiceField(choices=[("", "All stages"), *Stage.choices], required=False, label="Stage")


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label="The file holds", choices=ImportJob.Kind.choices, initial=ImportJob.Kind.USE_CASES,
                             widget=forms.RadioSelect, required=False)
    file = forms.FileField(label="File (CSV or XLSX)",
                           help_text="Use cases: the columns of import_use_cases (external_id, title, business_unit, "
                                     "decision, …). Investment: use_case, layer, period_start, period_end, planned, spent.")

    def clean_kind(self):
        return self.cleaned_data["kind"] or ImportJob.Kind.USE_CASES

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not (name.endswith(".csv") or name.endswith(".xlsx")):
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        return upload


class SignOffForm(forms.Form):
    """An approver's judgement on the use case entering its next stage (the rules are
    `registry.services.sign_offs.sign_off`'s)."""

    stage = forms.ChoiceField(widget=forms.HiddenInput, choices=SIGN_OFF_STAGE_CHOICES)
    outcome = forms.ChoiceField(label="Outcome", choices=SignOffOutcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(label="Note", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="What you checked; which changes are needed when you ask for changes.")


class PracticeForm(forms.Form):
    practice = forms.ChoiceField(label="Minimum practice", choices=Practice.choices)
    status = forms.ChoiceField(label="Status", choices=PracticeStatus.choices)
    evidence_link = forms.URLField(label="Evidence link", required=False, max_length=500, assume_scheme="https")
    evidence_note = forms.CharField(label="Evidence note", required=False, max_length=5000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class OMBDeterminationForm(forms.Form):
    is_high_impact = forms.ChoiceField(label="OMB M-25-21", choices=HighImpact.choices)
    hi_justification = forms.CharField(label="Justification", required=False, max_length=5000,
                                       widget=forms.Textarea(attrs={"rows": 2}),
                                       help_text="Required for presumed high-impact, but not high-impact.")
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class EUClassificationForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=EURole.choices)
    risk_class = forms.ChoiceField(label="Risk class", choices=EURiskClass.choices)
    annex_iii_area = forms.ChoiceField(label="Annex III area", required=False,
                                       choices=[("", "—"), *AnnexIIIArea.choices])
    derogation_condition = forms.ChoiceField(label="Art. 6(3) condition", required=False,
                                             choices=[("", "—"), *DerogationCondition.choices])
    profiles_natural_persons = forms.BooleanField(label="Profiles natural persons", required=False)
    transparency_art50 = forms.BooleanField(label="Art. 50 transparency duties", required=False)
    rationale = forms.CharField(label="Rationale", max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class WaiverForm(forms.Form):
    practice = forms.ChoiceField(label="Practice to waive", choices=Practice.choices)
    justification = forms.CharField(label="Justification", max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    expires_on = forms.DateField(label="Expires on", widget=forms.DateInput(attrs={"type": "date"}))


class UseCaseListForm(forms.Form):
    """The use case list's search, filters and sort, read from the query string. A value that
    does not make sense is named in a message and left out; the rest still applies."""

    SORT_CHOICES = [
        ("title", "Title A–Z"), ("-title", "Title Z–A"), ("stage", "Stage (proposed first)"),
        ("-stage", "Stage (retired first)"), ("unit", "Business unit"), ("-updated", "Recently updated"),
        ("updated", "Least recently updated"), ("-findings", "Most open findings"),
    ]
    HIGH_IMPACT_CHOICES = [("", "Any"), ("yes", "High-impact"), ("no", "Not high-impact")]

    q = forms.CharField(required=False, max_length=200, label="Search",
                        help_text="Words of the title, summary, decision, capability, unit or an owner's name or email.")
    unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.order_by("name"), required=False,
                                  empty_label="Any unit", label="Business unit")
    stage = forms.MultipleChoiceField(choices=Stage.choices, required=False, widget=forms.CheckboxSelectMultiple,
                                      label="Stage")
    owner = PersonEmailField(required=False, label="Owner (email)",
                             help_text="Business, technical or decision owner.")
    high_impact = forms.ChoiceField(choices=HIGH_IMPACT_CHOICES, required=False, label="High-impact")
    open_finding_kind = forms.ChoiceField(choices=[("", "Any"), *FindingKind.choices], required=False,
                                          label="Open finding")
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, label="Sort")

    def criteria_values(self) -> dict:
        """What the valid fields ask for (an invalid one is dropped, its error kept on the form)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        sort = data.get("sort") or "title"
        high_impact = data.get("high_impact")
        return {
            "terms": tuple(data.get("q", "").split()),
            "unit_id": data["unit"].pk if data.get("unit") else None,
            "stages": tuple(data.get("stage") or ()),
            "owner_id": data["owner"].pk if data.get("owner") else None,
            "high_impact": {"yes": True, "no": False}.get(high_impact),
            "open_finding_kind": data.get("open_finding_kind") or "",
            "sort": sort.lstrip("-"),
            "descending": sort.startswith("-"),
        }


class PeopleSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search", help_text="Part of a name or an email.")


class PersonAddForm(forms.Form):
    email = forms.EmailField(max_length=254)
    name = forms.CharField(max_length=200)
    business_unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.order_by("name"), required=False,
                                           empty_label="No unit", label="Business unit")
    username = forms.CharField(required=False, max_length=150, label="Login username",
                               help_text="Leave blank for no login; they set a password with “forgot password”.")


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, label="Login username")


class RolesForm(forms.Form):
    ROLE_LABELS = {"program_office": "Program office", "business_owner": "Business owner", "auditor": "Auditor",
                   "chief_ai_officer": "Chief AI Officer", "approver": "Approver (signs off their unit's gates)"}
    roles = forms.MultipleChoiceField(choices=list(ROLE_LABELS.items()), required=False,
                                      widget=forms.CheckboxSelectMultiple, label="Roles")
