"""Official statistical forms (ОО-1, 1-ДОП, the results report, the ESIA adoption report),
defined as data in `forms/definitions/`, built from the warehouse's `forms` models, written as
XLSX in the layout of the paper form (and CSV), checked by their control ratios, released and
archived per territory. See docs/forms.md."""

from forms.archive import Release, ReleaseError, download, draft_path, release, releases
from forms.build import (
    Form,
    FormError,
    build_form,
    recheck,
    suppression_required,
)
from forms.controls import ControlResult, ControlViolation
from forms.definition import (
    Definition,
    DefinitionError,
    available,
    definition_files,
    find_definition,
    load_definition,
)
from forms.render import csv_text, write, write_csv, write_xlsx

__all__ = [
    "ControlResult",
    "ControlViolation",
    "Definition",
    "DefinitionError",
    "Form",
    "FormError",
    "Release",
    "ReleaseError",
    "available",
    "build_form",
    "csv_text",
    "definition_files",
    "download",
    "draft_path",
    "find_definition",
    "load_definition",
    "recheck",
    "release",
    "releases",
    "suppression_required",
    "write",
    "write_csv",
    "write_xlsx",
]
