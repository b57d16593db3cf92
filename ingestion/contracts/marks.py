"""marks — Текущие отметки (delta; CSV; the largest feed)."""

from ingestion.contracts import Column, Feed, Ref

MARK_CODES = ("1", "2", "3", "4", "5", "н", "б", "у", "зач", "незач", "осв")

FEED = Feed(
    name="marks",
    title="Текущие отметки",
    order=4,
    mode="delta",
    formats=("csv",),
    columns=(
        Column("mark_id", "ID отметки", "id", required=True),
        Column("student_id", "ID обучающегося", "id", required=True, pseudonym="student_key"),
        Column("organization_id", "ID ОО", "id", required=True),
        Column("class_name", "Класс"),
        Column("subject", "Предмет", required=True),
        Column("lesson_date", "Дата урока", "date", required=True),
        Column("mark_value", "Отметка", "code", required=True, codes=MARK_CODES),
        Column("work_type", "Вид работы"),
        Column("weight", "Вес", "int", bounds=(1, 3)),
        Column("teacher_id", "ID учителя", "id", pseudonym="teacher_key"),
        Column("changed_at", "Дата изменения", "timestamp"),
        Column("is_deleted", "Удалена", "bool"),
    ),
    key=("mark_id",),
    refs=(Ref("student_key", "student"), Ref("organization_id", "organization")),
    tombstone="is_deleted",
)
