"""The published US federal inventories beside the repository (../shared/data), and the marks
that skip a test when a checkout has no such folder (CI always has it)."""

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILE_2025 = DATA / "federal_ai_use_cases.csv"
FILE_2024 = DATA / "federal_ai_use_cases_2024.csv"

needs_2025 = pytest.mark.skipif(not FILE_2025.is_file(), reason=f"the 2025 inventory is not at {FILE_2025}")
needs_2024 = pytest.mark.skipif(not FILE_2024.is_file(), reason=f"the 2024 inventory is not at {FILE_2024}")
