"""How the US federal inventories map to Last Mile, both ways: the formats' columns, the
stages, and the values derived from a row's cells.

**Mapping** (both formats)

| source | Last Mile |
| --- | --- |
| agency (``agency_name (agency)``) | business unit, created if new |
| ``use_case_name`` | title (whitespace collapsed, cut at 200 characters; a blank name: ``Untitled use case KEY``) |
| problem solved, benefits, system outputs | summary, paragraphs in that order (cut at 5,000) |
| classification and topic area | capability, ``classification — topic area`` |
| ``development_stage`` | stage (table below) |
| ``contact_email`` | business owner; a person is created for an address not yet known |
| ``is_high_impact``, ``HI_justification``, the ``hi_*`` columns (2025) | the OMB determination and the minimum practices (``high_impact``) |
| every column | ``source_record`` on the use case, verbatim, with ``source_format`` |

The bureau is not a business unit of its own: the unit is the agency, so the duplicates scan
(which looks across units) reports the same capability across agencies, and each agency has
one placeholder decision. The bureau stays in the source record and goes back out on export.

The contact is the **business owner**: the inventory names one point of contact, answerable
for the use case, which is what the business owner is in Last Mile (the person asked to state
the decision). The technical owner is left blank: the source names nobody who runs the
system, and the orphaned-ownership scan says so for use cases in production. When a cell
holds several addresses (``a@x.gov, cc: b@x.gov``) the first is the owner; a cell that holds
no address (a web form, a name) gives no owner. The cell itself is kept as written.

**Stages**

| source value | stage |
| --- | --- |
| 2025 ``Pre-deployment`` | validating |
| 2025 ``Pilot`` | pilot |
| 2025 ``Deployed`` | production |
| 2025 ``Retired`` | retired |
| 2024 ``Initiated``, ``Planned``, ``Ideation`` | proposed |
| 2024 ``Acquisition and/or Development`` | validating |
| 2024 ``Implementation and Assessment`` | pilot |
| 2024 ``Operation and Maintenance``, ``In production``, ``In mission`` | production |
| 2024 ``Retired``, ``Research or Administrative Action Complete`` | retired |
| blank (either year) | ``unreported`` ("Stage not reported"): outside the pipeline, never proposed |

Values are matched ignoring case and repeated spaces. Any other value is an error for that
row, naming the column: nothing is imported until the mapping knows it. A blank stage is a
gap the agency left (``inventory_completeness`` reports it per agency), not a proposal: the
use case is alive, outside the pipeline, until a person moves it to the stage it is in; it
exports back blank. When each stage began, and the inventory's own date, are the importer's
(``importer``'s docstring).

**Quoted cells.** What Last Mile writes into these columns on export goes out with a leading
quote when a spreadsheet would run it as a formula (``core.spreadsheet``); the values derived
here (title, summary, capability, unit, owner) take that one quote off again, so an export
imports back unchanged. The source record keeps every cell as written.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.spreadsheet import unescape_cell
from core.text import collapse_whitespace

from ...models import Stage

OMB_2025 = "omb-2025"
OMB_2024 = "omb-2024"
FEDERAL_FORMATS = (OMB_2025, OMB_2024)

PLACEHOLDER_STATEMENT = "Not yet defined: the source inventory names no decision"

COLUMNS_2025 = [
    "agency", "agency_name", "id", "use_case_name", "agency_bureau", "contact_email", "is_withheld",
    "development_stage", "is_high_impact", "HI_justification", "topic_area", "classification", "problem_solved",
    "benefits", "system_outputs", "operational_date", "contracting_usage", "vendor_name", "have_ato",
    "system_name_ato", "data_description", "link_to_data", "has_pii", "pia_url", "demographic_features",
    "has_custom_code", "code_url", "hi_testing_conducted", "hi_assessment_completed", "hi_potential_impacts",
    "hi_independent_review", "hi_ongoing_monitoring", "hi_training_established", "hi_failsafe_presence",
    "hi_appeal_process", "hi_public_consultation",
]

# The 2024 columns this module reads (the others are kept in the source record only).
C24_NAME = "Use Case Name"
C24_AGENCY = "Agency"
C24_ABBREVIATION = "Agency Abbreviation"
C24_BUREAU = "Bureau"
C24_TOPIC = "Use Case Topic Area"
C24_PURPOSE = "What is the intended purpose and expected benefits of the AI?"
C24_OUTPUTS = "Describe the AI system’s outputs."
C24_STAGE = "Stage of Development"
C24_INITIATED = "Date Initiated"
C24_DEVELOPMENT = "Date when Acquisition and/or Development began"
C24_IMPLEMENTED = "Date Implemented"
C24_RETIRED = "Date Retired"

REQUIRED = {
    OMB_2025: ["agency", "use_case_name", "development_stage", "contact_email"],
    OMB_2024: [C24_NAME, C24_AGENCY, C24_STAGE],
}

STAGES_2025 = {
    "pre-deployment": Stage.VALIDATING,
    "pilot": Stage.PILOT,
    "deployed": Stage.PRODUCTION,
    "retired": Stage.RETIRED,
    "": Stage.UNREPORTED,
}
STAGES_2024 = {
    "initiated": Stage.PROPOSED,
    "planned": Stage.PROPOSED,
    "ideation": Stage.PROPOSED,
    "acquisition and/or development": Stage.VALIDATING,
    "implementation and assessment": Stage.PILOT,
    "operation and maintenance": Stage.PRODUCTION,
    "in production": Stage.PRODUCTION,
    "in mission": Stage.PRODUCTION,
    "retired": Stage.RETIRED,
    "research or administrative action complete": Stage.RETIRED,
    "": Stage.UNREPORTED,
}
STAGE_TO_2025 = {
    Stage.PROPOSED: "Pre-deployment",
    Stage.VALIDATING: "Pre-deployment",
    Stage.PILOT: "Pilot",
    Stage.PRODUCTION: "Deployed",
    Stage.RETIRED: "Retired",
    Stage.UNREPORTED: "",
}
STAGE_ORDER = [Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED]

TITLE_MAX, SUMMARY_MAX, CAPABILITY_MAX, UNIT_MAX = 200, 5000, 200, 200


# Values -------------------------------------------------------------------------------------


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def derive_title(name: str, key: str) -> str:
    """The title from the use case name; a row with no name (there is one) is titled by its key."""
    return cut(unescape_cell(collapse_whitespace(name)), TITLE_MAX) or f"Untitled use case {key}"


def derive_summary(parts: Iterable[str]) -> str:
    return cut("\n\n".join(unescape_cell(p.strip()) for p in parts if p.strip()), SUMMARY_MAX)


def derive_capability(parts: Iterable[str]) -> str:
    return cut(" — ".join(unescape_cell(collapse_whitespace(p)) for p in parts if p.strip()), CAPABILITY_MAX)


def unit_name(agency: str, agency_name: str) -> str:
    agency, agency_name = unescape_cell(collapse_whitespace(agency)), unescape_cell(collapse_whitespace(agency_name))
    if agency and agency_name and agency.lower() != agency_name.lower():
        return cut(f"{agency_name} ({agency})", UNIT_MAX)
    return cut(agency or agency_name, UNIT_MAX)


def split_unit_name(name: str) -> tuple[str, str]:
    """(agency, agency_name) back from a unit's name."""
    found = re.fullmatch(r"(.*) \(([^()]+)\)", name)
    return (found.group(2), found.group(1)) if found else (name, name)


def owner_email(contact: str) -> str | None:
    """The first email address in a contact cell, lower-cased; None when it holds none."""
    for token in re.split(r"[\s,;]+", unescape_cell(contact.strip())):
        token = token.strip().strip("<>()").lower()
        if "@" not in token or len(token) > 254:
            continue
        try:
            validate_email(token)
        except ValidationError:
            continue
        return token
    return None


def map_stage(value: str, table: dict) -> str | None:
    return table.get(collapse_whitespace(value).lower())


MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def parse_source_date(text: str) -> datetime.date | None:
    """A date as agencies wrote it; a month or year alone is its first day; None if unreadable."""
    text = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.]+)?", text):
            return datetime.date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: [\d:]+(?: ?[AP]M)?)?", text, re.I):
            return datetime.date(int(m[3]), int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{4})", text):
            return datetime.date(int(m[2]), int(m[1]), 1)
        if m := re.fullmatch(r"([A-Za-z]{3})[a-z]*[- ](\d{2}|\d{4})", text):
            month = MONTHS.get(m[1].lower())
            year = int(m[2]) + (2000 if len(m[2]) == 2 else 0)
            return datetime.date(year, month, 1) if month else None
        if m := re.fullmatch(r"(19|20)\d{2}", text):
            return datetime.date(int(text), 1, 1)
    except ValueError:
        return None
    return None
