"""final_marks — Итоговые отметки (delta; CSV). No record ID: the key is five columns."""

from ingestion.contracts import Column, Feed, Ref

PERIODS = (
    "1 четверть",
    "2 четверть",
    "3 четверть",
    "4 четверть",
    "1 полугодие",
    "2 полугодие",
    "1 триместр",
    "2 триместр",
    "3 триместр",
    "Год",
    "Экзамен",
    "Итоговая",
)
FINAL_MARK_CODES = ("2", "3", "4", "5", "зач", "незач", "н/а", "осв")

FEED = Feed(
    name="final_marks",
    title="Итоговые отметки",
    order=5,
    mode="delta",
    formats=("csv",),
    columns=(
        Column("student_id", "ID обучающегося", "id", required=True, pseudonym="student_key"),
        Column("organization_id", "ID ОО", "id", required=True),
        Column("school_year", "Учебный год", "school_year", required=True),
        Column("period", "Период", "code", required=True, codes=PERIODS),
        Column("subject", "Предмет", required=True),
        Column("mark_value", "Отметка", "code", required=True, codes=FINAL_MARK_CODES),
        Column("marked_on", "Дата выставления", "date"),
    ),
    key=("student_key", "organization_id", "school_year", "period", "subject"),
    refs=(Ref("student_key", "student"), Ref("organization_id", "organization")),
)
