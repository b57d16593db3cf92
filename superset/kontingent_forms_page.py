"""«Статистические формы»: the forms page inside the Superset app, behind the same sign-in.

A Flask blueprint registered from superset_config.py (BLUEPRINTS). What a signed-in person
may do follows the scope of their portal accounts (table `kontingent_user_scope`, written at
sign-in by kontingent_security.py):

- the region's analyst and the administrator: the forms of the region, of every municipality
  and of every organization;
- an education department: those of its municipality and of the municipality's organizations;
- a school (director, head of studies, school administrator): those of its organization;
- teachers, students, parents: nothing (403).

Pages:
- `GET /kontingent/forms/`: the forms, the territories the person may choose, and the released
  forms of those territories;
- `GET /kontingent/forms/draft?form=&date=&territory=[&period=]`: builds a draft from the
  published warehouse (read-only role) and downloads it as XLSX; health cells under 5 are
  withheld unless the person is the region's analyst or the territory's own department;
- `GET /kontingent/forms/release?form=&date=&territory=[&version=]`: the archived file, byte
  for byte after its sha256 is checked, for those who see every figure of that territory;
- `GET /kontingent/lost-children`: an education department's lost children with names and
  birth dates, through `pii.lost_children_of` (role `kontingent_reidentify`, which may call that
  function and read nothing), which writes every call to the re-identification log. The one
  way a department reaches that list; nobody else may.

Every parameter is checked against a closed pattern or list before it reaches a query or a
path; anything else is refused with 400. The project's `forms` package is imported from the
checkout (it needs psycopg 3, openpyxl and PyYAML, all in the dashboards environment).
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template_string, request, send_file
from flask_login import current_user

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]

blueprint = Blueprint("kontingent_forms", __name__, url_prefix="/kontingent")

TERRITORY = re.compile(r"^(region|municipality-\d{5}|organization-[0-9A-Za-z_.-]{1,64})$")
FORM_CODE = re.compile(r"^[0-9a-z_-]{1,32}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PERIOD = re.compile(r"^[0-9А-Яа-яЁё -]{1,40}$")
VERSION = re.compile(r"^\d{1,4}$")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCHOOL_ROLES = {"school_director", "head_of_studies", "school_administrator"}


def _forms():
    """The project's `forms` package (from the checkout: appended, never shadowing Superset)."""
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.append(str(PROJECT_ROOT))
    import forms

    return forms


def _reader_url() -> str:
    url = os.environ.get("WAREHOUSE_READER_URL", "").strip()
    if not url:
        abort(503, "WAREHOUSE_READER_URL is not set")
    return url


# -- who is asking --------------------------------------------------------------------------
@dataclass(frozen=True)
class Viewer:
    """The signed-in person's scope over the forms."""

    username: str
    esia_oid: str
    region: bool
    municipalities: frozenset[str]
    organizations: frozenset[str]
    department_of: frozenset[str]  # municipalities whose department the person is

    @property
    def any_access(self) -> bool:
        return self.region or bool(self.municipalities) or bool(self.organizations)


def current_viewer() -> Viewer:
    import kontingent_security as ks

    g.user = current_user
    rows = ks._current_scope_rows()
    region = any(r.scope == "region" for r in rows)
    municipalities = {r.municipality_id for r in rows if r.scope == "municipality"}
    organizations = {r.org_id for r in rows if r.role in SCHOOL_ROLES and r.org_id}
    department = {
        r.municipality_id
        for r in rows
        if r.role == "education_department" and r.scope == "municipality" and r.municipality_id
    }
    oid = next((r.esia_oid for r in rows), "")
    return Viewer(
        current_user.username,
        oid,
        region,
        frozenset(m for m in municipalities if m),
        frozenset(organizations),
        frozenset(department),
    )


def _organizations(url: str) -> dict[str, tuple[str, str]]:
    """Current organizations: id -> (municipality, short name)."""
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        rows = conn.execute(
            "select organization_id, municipality_id, coalesce(short_name, full_name) "
            "from marts.dim_organization where is_current order by organization_id"
        ).fetchall()
    return {org: (municipality, name) for org, municipality, name in rows}


def _municipalities(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        rows = conn.execute(
            "select municipality_id, municipality_name from marts.dim_municipality "
            "where municipality_id ~ '^[0-9]{5}$' order by municipality_id"
        ).fetchall()
    return dict(rows)


def parse_territory(value: str) -> tuple[str, str | None]:
    if not TERRITORY.match(value or ""):
        abort(400, "неверная территория")
    if value == "region":
        return "region", None
    level, code = value.split("-", 1)
    return level, code


def may_see(viewer: Viewer, level: str, code: str | None, municipality_of: str | None) -> bool:
    if viewer.region:
        return True
    if level == "municipality":
        return code in viewer.municipalities
    if level == "organization":
        return code in viewer.organizations or municipality_of in viewer.municipalities
    return False


def sees_every_figure(viewer: Viewer, level: str, code: str | None, municipality_of) -> bool:
    """Health cells under 5 are shown only to the region and to the territory's department."""
    forms = _forms()
    if viewer.region:
        return True
    for municipality in viewer.department_of:
        if not forms.suppression_required(
            "municipality", municipality, level, code or "region", municipality_of
        ):
            return True
    return False


def _checked(viewer: Viewer) -> tuple[str, str | None, str | None]:
    """The territory of the request, refused (403) when outside the viewer's scope."""
    level, code = parse_territory(request.args.get("territory", ""))
    municipality_of = None
    if level == "organization":
        known = _organizations(_reader_url())
        if code not in known:
            abort(404, "нет такой организации")
        municipality_of = known[code][0]
    if not may_see(viewer, level, code, municipality_of):
        log.warning("forms page: %s refused %s-%s", viewer.username, level, code)
        abort(403, "эта территория вне вашей области доступа")
    return level, code, municipality_of


def _form_and_date() -> tuple[str, date]:
    forms = _forms()
    form = request.args.get("form", "")
    if not FORM_CODE.match(form) or form not in forms.available():
        abort(400, "неизвестная форма")
    raw = request.args.get("date", "")
    if not ISO_DATE.match(raw):
        abort(400, "дата в виде ГГГГ-ММ-ДД")
    try:
        return form, date.fromisoformat(raw)
    except ValueError:
        abort(400, "неверная дата")
        raise


@blueprint.before_request
def _signed_in_only():
    if not current_user.is_authenticated:
        if request.path.startswith("/kontingent/") and request.accept_mimetypes.accept_html:
            return redirect(f"/login/?next={request.path}")
        abort(401)
    viewer = current_viewer()
    if not viewer.any_access:
        abort(403, "у вашей роли нет доступа к статистическим формам")
    g.kontingent_viewer = viewer
    return None


# -- pages --------------------------------------------------------------------------------------
PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Статистические формы</title>
<style>
body{font-family:Inter,Arial,sans-serif;margin:2rem;max-width:70rem;color:#1f2d3d}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccd;padding:.3rem .6rem}
th{background:#eef2f7;text-align:left}label{margin-right:1rem}.note{color:#556}
</style></head><body>
<h1>Статистические формы</h1>
<p class="note">Пользователь: {{ viewer.username }}. Черновик строится по опубликованным данным
хранилища в момент запроса. {% if not full %}Клетки о детях с ОВЗ и детях-инвалидах со значением
меньше 5 скрыты (152-ФЗ).{% endif %}</p>
<h2>Сформировать черновик</h2>
<form method="get" action="{{ url_for('kontingent_forms.draft') }}" id="build">
<label>Форма <select name="form">{% for code, title in forms %}
<option value="{{ code }}">{{ title }}</option>{% endfor %}</select></label>
<label>Дата <input type="date" name="date" value="{{ today }}" required></label>
<label>Территория <select name="territory">{% for slug, label in territories %}
<option value="{{ slug }}">{{ label }}</option>{% endfor %}</select></label>
<label>Период (для отчёта об успеваемости) <input name="period" placeholder="1 четверть"></label>
<button type="submit">Скачать черновик (XLSX)</button>
</form>
<h2>Выпущенные формы</h2>
{% if released %}<table><tr><th>Форма</th><th>Отчётная дата</th><th>Территория</th>
<th>Версия</th><th>Данные на</th><th>Выпущена</th><th></th></tr>
{% for r in released %}<tr><td>{{ r.form }}</td><td>{{ r.report_date }}</td>
<td>{{ r.territory }}</td><td>{{ r.version }}</td><td>{{ r.data_cutoff or '' }}</td>
<td>{{ r.released_at[:16] }}</td><td>{% if r.download %}<a class="release" href="{{
url_for('kontingent_forms.released', form=r.form, date=r.report_date, territory=r.territory,
version=r.version) }}">скачать</a>{% else %}доступна управлению образованием{% endif %}</td>
</tr>{% endfor %}</table>
{% else %}<p>Выпущенных форм вашей территории пока нет.</p>{% endif %}
{% if viewer.department_of %}<h2>Дети, выбывшие без продолжения обучения</h2>
<p>{% for m in viewer.department_of|sort %}<a class="lost" href="{{
url_for('kontingent_forms.lost_children', municipality=m) }}">Список по муниципалитету {{ m
}}</a> {% endfor %}(каждое обращение записывается в журнал)</p>{% endif %}
</body></html>"""


@blueprint.route("/forms/")
def index():
    viewer: Viewer = g.kontingent_viewer
    forms = _forms()
    url = _reader_url()
    organizations = _organizations(url)
    municipalities = _municipalities(url)
    territories: list[tuple[str, str]] = []
    if viewer.region:
        territories.append(("region", "Регион"))
    for m, name in municipalities.items():
        if viewer.region or m in viewer.municipalities:
            territories.append((f"municipality-{m}", f"{name} ({m})"))
    for org, (m, name) in organizations.items():
        if viewer.region or org in viewer.organizations or m in viewer.municipalities:
            territories.append((f"organization-{org}", f"{name} ({org})"))
    titles = []
    for form in forms.available():
        definition = forms.find_definition(form, date.today())
        titles.append((form, f"{definition.code} — {definition.title}"))
    released = []
    archive = forms.archive.forms_home() / "archive"
    for manifest in sorted(archive.glob("*/*/manifest.json")) if archive.exists() else []:
        form, report_date = manifest.parent.parent.name, manifest.parent.name
        for r in forms.releases(form, report_date):
            level, code = parse_territory(r.territory) if TERRITORY.match(r.territory) else ("", "")
            m_of = organizations.get(code, ("", ""))[0] if level == "organization" else None
            if level and may_see(viewer, level, code, m_of):
                row: dict[str, Any] = dict(r.entry())
                row["download"] = sees_every_figure(viewer, level, code, m_of)
                released.append(row)
    html = render_template_string(
        PAGE,
        viewer=viewer,
        forms=titles,
        territories=territories,
        released=released,
        today=date.today().isoformat(),
        full=viewer.region or bool(viewer.department_of),
    )
    return html


@blueprint.route("/forms/draft")
def draft():
    viewer: Viewer = g.kontingent_viewer
    forms = _forms()
    form, on = _form_and_date()
    level, code, municipality_of = _checked(viewer)
    period = request.args.get("period", "").strip() or None
    if period is not None and not PERIOD.match(period):
        abort(400, "неверный период")
    full = sees_every_figure(viewer, level, code, municipality_of)
    try:
        built = forms.build_form(
            form, on, level, code, url=_reader_url(), period=period, suppress_health=not full
        )
    except (forms.FormError, forms.DefinitionError, ValueError) as exc:
        abort(400, str(exc))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "draft.xlsx"
        forms.write_xlsx(built, path)
        buffer = io.BytesIO(path.read_bytes())
    log.info(
        "forms page: %s built %s %s %s (withheld: %s)",
        viewer.username,
        form,
        built.territory_slug,
        built.report_date,
        not full,
    )
    name = f"{form}_{built.report_date.isoformat()}_{built.territory_slug}_черновик.xlsx"
    return send_file(buffer, mimetype=XLSX, as_attachment=True, download_name=name)


@blueprint.route("/forms/release")
def released():
    viewer: Viewer = g.kontingent_viewer
    forms = _forms()
    form, on = _form_and_date()
    level, code, municipality_of = _checked(viewer)
    if not sees_every_figure(viewer, level, code, municipality_of):
        abort(403, "выпущенная форма содержит все показатели: доступна управлению образованием")
    raw_version = request.args.get("version", "")
    if raw_version and not VERSION.match(raw_version):
        abort(400, "неверная версия")
    slug = "region" if level == "region" else f"{level}-{code}"
    try:
        entry = forms.download(
            form, on.isoformat(), slug, int(raw_version) if raw_version else None
        )
    except forms.ReleaseError as exc:
        abort(404, str(exc))
    return send_file(
        entry.path, mimetype=XLSX, as_attachment=True, download_name=Path(entry.file).name
    )


LOST = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Дети, выбывшие без продолжения обучения</title>
<style>body{font-family:Inter,Arial,sans-serif;margin:2rem;color:#1f2d3d}
table{border-collapse:collapse}td,th{border:1px solid #ccd;padding:.3rem .6rem}
th{background:#eef2f7;text-align:left}</style></head><body>
<h1>Дети, выбывшие без продолжения обучения: муниципалитет {{ municipality }}</h1>
<p>Персональные данные (152-ФЗ): обращение записано в журнал. Всего: <b id="total">{{
rows|length }}</b>.</p>
<table><tr><th>Ключ</th><th>Фамилия</th><th>Имя</th><th>Отчество</th><th>Дата рождения</th>
<th>Последняя организация</th><th>Дата выбытия</th><th>Дней прошло</th></tr>
{% for r in rows %}<tr class="child"><td>{{ r[0] }}</td><td>{{ r[1] or '' }}</td>
<td>{{ r[2] or '' }}</td><td>{{ r[3] or '' }}</td><td>{{ r[4] or '' }}</td><td>{{ r[5] }}</td>
<td>{{ r[6] }}</td><td>{{ r[7] }}</td></tr>{% endfor %}</table>
<p><a href="{{ url_for('kontingent_forms.index') }}">К формам</a></p></body></html>"""


@blueprint.route("/lost-children")
def lost_children():
    viewer: Viewer = g.kontingent_viewer
    municipality = request.args.get("municipality", "")
    if not re.fullmatch(r"\d{5}", municipality):
        abort(400, "муниципалитет: пять цифр ОКТМО")
    if municipality not in viewer.department_of:
        log.warning("lost children: %s refused for %s", viewer.username, municipality)
        abort(403, "список доступен только управлению образованием этого муниципалитета")
    url = os.environ.get("WAREHOUSE_REIDENTIFY_URL", "").strip()
    if not url:
        abort(503, "WAREHOUSE_REIDENTIFY_URL is not set")
    import psycopg

    who = f"{viewer.username} (ЕСИА {viewer.esia_oid}, управление образованием {municipality})"
    with psycopg.connect(url, connect_timeout=10) as conn:
        rows = conn.execute(
            "select student_key, surname, first_name, patronymic, birth_date, "
            "last_organization_id, exit_date, days_since_exit "
            "from pii.lost_children_of(%s, %s)",
            (municipality, who),
        ).fetchall()
    response = render_template_string(LOST, municipality=municipality, rows=rows)
    return response, 200, {"Cache-Control": "no-store"}
