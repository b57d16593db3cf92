"""The sample region: a realistic, deterministic region of AIS "Kontingent" and the electronic
journals, written as extract files in the feed contract, with a ground-truth manifest computed
from the generator's own model. It shares no code with the warehouse's path."""

from sample_region.generate import (
    CORRECTNESS_PROFILE,
    generate_accounts,
    generate_correctness_region,
    generate_region,
)

__all__ = [
    "CORRECTNESS_PROFILE",
    "generate_accounts",
    "generate_correctness_region",
    "generate_region",
]
