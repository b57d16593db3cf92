"""The default demo region's accounts linked to ESIA equal the published table exactly."""

from __future__ import annotations

from collections import Counter

from region_reader import feed_files, read_jsonl

from sample_region import generate_accounts
from sample_region.calendar import DEFAULT_UNTIL
from sample_region.generate import DEFAULT_SEED

SEED_TABLE = {
    "Ученик": 6176,
    "Родитель ученика": 5149,
    "Учитель-предметник": 4518,
    "Классный руководитель": 3705,
    "Заведующий учебной частью": 537,
    "Администратор школы": 220,
    "Директор школы": 165,
    "Управление образованием": 39,
    "Администратор системы": 10,
}


def test_default_demo_region_accounts_equal_the_seed_table(tmp_path):
    # the accounts feed of the default region (10,000 students, 2 years, default seed), alone
    summary = generate_accounts(students=10_000, years=2, seed=DEFAULT_SEED, out=tmp_path)
    last: dict[str, dict] = {}
    files = feed_files(tmp_path, "accounts")
    assert len(files) > 100
    for f in files:
        for obj in read_jsonl(f.path):
            last[obj["account_id"]] = obj
    end = DEFAULT_UNTIL.isoformat()
    linked = Counter(
        a["role"] for a in last.values() if a["esia_linked_at"] and a["esia_linked_at"][:10] <= end
    )
    assert dict(linked) == SEED_TABLE
    assert summary["linked_by_role"] == SEED_TABLE
    assert len(last) > sum(SEED_TABLE.values())  # some accounts never linked
    # some accounts were sent unlinked first and linked later
    first_seen: dict[str, dict] = {}
    for f in files:
        for obj in read_jsonl(f.path):
            first_seen.setdefault(obj["account_id"], obj)
    assert any(
        first_seen[k]["esia_linked_at"] is None and v["esia_linked_at"] for k, v in last.items()
    )
