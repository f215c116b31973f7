"""What the demo's regulatory records are made of: which decisions concern people (and so are
more often high-impact AI under OMB M-25-21), how each is classified under the EU AI Act,
and the words of determinations, practice evidence and waivers. Pure data: nothing here
touches the database or draws a random number.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.models import AnnexIIIArea, DerogationCondition, EURiskClass, Practice, Stage

from .catalogue import DEMO_DOMAIN


@dataclass(frozen=True)
class RegulatoryProfile:
    """How a decision's use cases are determined and classified.

    `high_impact_share` and `presumed_share` are shares of the determined use cases: high-impact,
    and "presumed high-impact, but not high-impact" (a person decides, the AI prepares).
    """

    high_impact_share: float
    presumed_share: float = 0.0
    potential_impacts: str = ""
    risk_class: str = EURiskClass.MINIMAL
    annex_iii_area: str = ""
    derogation_condition: str = ""
    profiles_natural_persons: bool = False
    eu_rationale: str = "No Annex III area and no Art. 50 interaction: minimal risk, voluntary codes of conduct only."


# Decisions that do not concern people: rarely high-impact (a few the program office judged so
# for the scale of their effect on customers), minimal risk under the EU AI Act.
OTHER_DECISIONS = RegulatoryProfile(
    0.03, 0.0, "Errors reach many customers or employees at once, before anyone notices.")

PROFILES: dict[str, RegulatoryProfile] = {
    # Credit and eligibility
    "instalment_credit": RegulatoryProfile(
        0.7, 0.25, "Applicants refused buy-now-pay-later credit at checkout on a wrong score; bias by postcode or age.",
        EURiskClass.HIGH_RISK_ANNEX_III, AnnexIIIArea.ESSENTIAL_SERVICES, profiles_natural_persons=True,
        eu_rationale="Evaluates the creditworthiness of natural persons (Annex III 5(b)) and profiles them: high-risk."),
    "credit_limit": RegulatoryProfile(
        0.5, 0.3, "Business customers, many of them sole traders, refused credit or given too little.",
        eu_rationale="Credit limits for business customers, not natural persons: outside Annex III 5(b); minimal risk."),
    "collections": RegulatoryProfile(
        0.5, 0.3, "Customers in payment difficulty pressed harder than others; vulnerable customers not recognised.",
        eu_rationale="Orders a worklist for the collections team; no Annex III area applies: minimal risk."),
    # Hiring and employment
    "interview_invites": RegulatoryProfile(
        0.7, 0.2, "Applicants screened out before a person reads their application; bias against career breaks.",
        EURiskClass.HIGH_RISK_ANNEX_III, AnnexIIIArea.EMPLOYMENT, profiles_natural_persons=True,
        eu_rationale="Filters job applications and evaluates candidates (Annex III 4(a)): high-risk."),
    "retention_talks": RegulatoryProfile(
        0.6, 0.25, "Employees ranked by flight risk; those left out miss a retention conversation and a raise.",
        EURiskClass.HIGH_RISK_ANNEX_III, AnnexIIIArea.EMPLOYMENT, profiles_natural_persons=True,
        eu_rationale="Evaluates employees' behaviour to decide on terms of work (Annex III 4(b)) and profiles them: "
                     "high-risk."),
    "expense_audit": RegulatoryProfile(
        0.5, 0.3, "Employees singled out for audit of their expense claims; suspicion that follows them.",
        EURiskClass.NOT_SIGNIFICANT_RISK, AnnexIIIArea.EMPLOYMENT, DerogationCondition.PREPARATORY_TASK,
        eu_rationale="Selects claims for an auditor, who decides (Art. 6(3)(d), a preparatory task); it scores "
                     "claims, not people."),
    "access_review": RegulatoryProfile(
        0.35, 0.3, "Employees losing access rights they need for their work.",
        EURiskClass.NOT_SIGNIFICANT_RISK, AnnexIIIArea.EMPLOYMENT, DerogationCondition.NARROW_PROCEDURAL_TASK,
        eu_rationale="Proposes unused rights for revocation in the access review; the manager confirms each "
                     "(Art. 6(3)(a), a narrow procedural task)."),
    "learning": RegulatoryProfile(
        0.3, 0.25, "Employees steered away from the training that leads to promotion.",
        EURiskClass.NOT_SIGNIFICANT_RISK, AnnexIIIArea.EDUCATION, DerogationCondition.PREPARATORY_TASK,
        eu_rationale="Recommends vocational training; the employee and their manager choose (Art. 6(3)(d))."),
    # Fraud and claims
    "order_fraud": RegulatoryProfile(
        0.6, 0.25, "Customers' orders held or cancelled on a wrong fraud score; some groups held more often.",
        eu_rationale="Detects payment fraud, which Annex III 5(b) leaves out; no other area applies: minimal risk."),
    "goodwill": RegulatoryProfile(
        0.4, 0.3, "Complaining customers refused the goodwill credit others in their situation receive.",
        eu_rationale="Suggests goodwill credits to an agent; no Annex III area applies: minimal risk."),
    "kyc_refresh": RegulatoryProfile(
        0.4, 0.3, "Customers whose files are refreshed first face account restrictions sooner.",
        eu_rationale="Orders know-your-customer file reviews; no Annex III area applies: minimal risk."),
    "privacy_requests": RegulatoryProfile(
        0.35, 0.3, "Data subjects whose requests are answered wrongly or after the legal deadline.",
        eu_rationale="Answers data subject requests from the customer's own records; no Annex III area: minimal risk."),
    # Assistants that talk to people: the Art. 50 transparency obligations.
    "self_service": RegulatoryProfile(
        0.05, 0.2, "Customers given a wrong answer about their contract or their rights.",
        EURiskClass.TRANSPARENCY,
        eu_rationale="Customers talk to it directly: they must be told they are interacting with an AI system "
                     "(Art. 50(1))."),
    "hr_questions": RegulatoryProfile(
        0.05, 0.2, "Employees given a wrong answer about leave, pay or their rights.",
        EURiskClass.TRANSPARENCY,
        eu_rationale="Employees talk to it directly: they must be told they are interacting with an AI system "
                     "(Art. 50(1))."),
    "it_self_service": RegulatoryProfile(
        0.0, 0.0, "", EURiskClass.TRANSPARENCY,
        eu_rationale="Employees talk to it directly: they must be told they are interacting with an AI system "
                     "(Art. 50(1))."),
}

# Of the use cases in each stage (for a retired one: the stage it left), the share with an OMB
# determination and with an EU AI Act classification: proposals mostly wait for both.
DETERMINED_SHARE = {Stage.PROPOSED: 0.15, Stage.VALIDATING: 0.6, Stage.PILOT: 0.9, Stage.PRODUCTION: 0.95}
CLASSIFIED_SHARE = {Stage.PROPOSED: 0.1, Stage.VALIDATING: 0.35, Stage.PILOT: 0.65, Stage.PRODUCTION: 0.75}
# Share of EU classifications where the company built the system itself (else it deploys a bought one).
PROVIDER_SHARE = 0.25
# Share of high-impact use cases with every minimum practice done, by stage; the others have gaps.
PRACTICES_COMPLETE_SHARE = {Stage.PILOT: 0.55, Stage.PRODUCTION: 0.8}

PRESUMED_NOT_JUSTIFICATIONS = (
    "The output is a ranked worklist; a trained employee reads the full file and takes every decision.",
    "The model only pre-fills a form that a person checks and signs; it has no effect on its own.",
    "Advisory score shown next to the case; the policy forbids acting on it without a human review.",
    "Used for capacity planning in aggregate; no individual outcome follows from its output.",
    "Every proposal is reviewed by a second person before anything reaches the customer or employee.",
)

EVIDENCE_NOTES = {
    Practice.TESTING_CONDUCTED: ("Test report on a hold-out sample of the last 12 months, signed off by the model "
                                 "risk team.", "Shadow run of six weeks against the manual decision; results filed."),
    Practice.ASSESSMENT_COMPLETED: ("AI impact assessment approved by the governance board.",
                                    "Impact assessment done with the data protection officer; DPIA attached."),
    Practice.INDEPENDENT_REVIEW: ("Reviewed by the model validation team, who did not build it.",
                                  "External review by the audit firm; no open points."),
    Practice.ONGOING_MONITORING: ("Weekly drift and error-rate dashboard, owned by the technical owner.",
                                  "Monthly monitoring report to the unit's management; alert thresholds set."),
    Practice.TRAINING_ESTABLISHED: ("Every user completed the oversight training; refreshed yearly.",
                                    "Operating guide and training for the team that acts on the output."),
    Practice.FAILSAFE_PRESENCE: ("A person can override every output; the manual process stays available.",
                                 "Kill switch tested; falls back to the rules it replaced."),
    Practice.APPEAL_PROCESS: ("Affected people can ask for a human review through the usual complaint channel.",
                              "Appeal route published; answered within ten working days."),
    Practice.PUBLIC_CONSULTATION: ("Works council and customer panel consulted; feedback logged.",
                                   "Feedback form for affected people; reviewed every quarter."),
}
IN_PROGRESS_NOTES = ("Draft under review.", "Scheduled with the risk office this quarter.",
                     "Started; waiting for data from the business.", "")
EVIDENCE_URL = f"https://governance.{DEMO_DOMAIN}/ai/{{external_id}}/{{practice}}"

WAIVER_JUSTIFICATIONS = {
    Practice.TESTING_CONDUCTED: "Testing on live data is only possible in the pilot itself; the pilot is capped "
                                "and every output is reviewed by a person until the test report is done.",
    Practice.ASSESSMENT_COMPLETED: "Impact assessment template under revision; the interim assessment covers the "
                                   "main risks until the new one is completed.",
    Practice.INDEPENDENT_REVIEW: "No reviewer independent of the team is available until the new validation "
                                 "function is staffed; the audit committee reviews the test results meanwhile.",
    Practice.ONGOING_MONITORING: "Monitoring platform is being replaced; weekly manual checks of the outputs "
                                 "until it is live.",
    Practice.TRAINING_ESTABLISHED: "Training module in production with the learning team; users are briefed "
                                   "one by one until it is available.",
    Practice.FAILSAFE_PRESENCE: "The manual process stays available and is used for every contested case while "
                                "the automated fallback is built.",
    Practice.APPEAL_PROCESS: "Appeals go through the existing complaint process until the dedicated route is "
                             "published.",
    Practice.PUBLIC_CONSULTATION: "Consultation of the works council is scheduled for its next session; the "
                                  "pilot is limited to volunteers until then.",
}
# The practices a demo waiver names when its use case misses none (a done one is then reopened),
# the first no other demo waiver names.
WAIVED_PRACTICES = (Practice.INDEPENDENT_REVIEW, Practice.ONGOING_MONITORING, Practice.PUBLIC_CONSULTATION,
                    Practice.APPEAL_PROCESS, Practice.TRAINING_ESTABLISHED, Practice.ASSESSMENT_COMPLETED)
REVOKED_REASON = "The practice is done (evidence recorded on the use case): the waiver is no longer needed."
