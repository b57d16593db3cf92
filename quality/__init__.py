"""Data-quality gates: Great Expectations checks on `raw` and on the published layer, their results
in the `dq` schema, and write-audit-publish of `marts`/`forms`.

Public surface (the CLI, the DAGs and the tests call these):

- `quality.project.build_project()` writes the GX file project in `expectations/` from the check
  definitions in `quality.checks` (idempotent);
- `quality.run.run_check(layer, ...)` runs a layer's checkpoints, records every result in `dq` and
  builds Data Docs;
- `quality.publish.build_audit_publish()` / `quality.publish.publish()` build the published layer
  into its build schemas, audit it and swap it in.
"""

from __future__ import annotations

LAYERS = ("raw", "marts")
