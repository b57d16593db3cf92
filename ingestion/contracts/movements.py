"""movements — Движение контингента (delta; CSV)."""

from ingestion.contracts import Column, Feed, Ref

EVENT_TYPES = (
    "Зачисление",
    "Перевод в следующий класс",
    "Оставлен на повторное обучение",
    "Отчисление",
    "Выпуск",
    "Восстановление",
)
PROGRAM_LEVELS = ("ДО", "НОО", "ООО", "СОО", "СПО", "ДОП")
ORIENTATIONS = (
    "техническая",
    "естественнонаучная",
    "физкультурно-спортивная",
    "художественная",
    "туристско-краеведческая",
    "социально-гуманитарная",
)
STUDY_FORMS = ("очная", "очно-заочная", "заочная", "семейное образование", "самообразование")
EXIT_REASONS = (
    "перевод в другую ОО",
    "смена места жительства",
    "по инициативе обучающегося",
    "по инициативе ОО",
    "завершение обучения",
    "переход на семейное образование",
    "иное",
)

FEED = Feed(
    name="movements",
    title="Движение контингента",
    order=3,
    mode="delta",
    formats=("csv",),
    columns=(
        Column("event_id", "ID события", "id", required=True),
        Column("student_id", "ID обучающегося", "id", required=True, pseudonym="student_key"),
        Column("organization_id", "ID ОО", "id", required=True),
        Column("event_type_code", "Тип события", "code", required=True, codes=EVENT_TYPES),
        Column("event_date", "Дата события", "date", required=True),
        Column("program_level_code", "Вид программы", "code", required=True, codes=PROGRAM_LEVELS),
        Column("orientation_code", "Направленность", "code", codes=ORIENTATIONS),
        Column("program_code", "Код программы"),
        Column("grade_level", "Параллель", "int", bounds=(1, 11)),
        Column("class_name", "Класс"),
        Column("study_form_code", "Форма обучения", "code", codes=STUDY_FORMS),
        Column("exit_reason_code", "Причина", "code", codes=EXIT_REASONS),
        Column("destination_organization_id", "ОО назначения", "id"),
        Column("order_number", "Номер приказа"),
        Column("order_date", "Дата приказа", "date"),
        Column("is_deleted", "Удалена", "bool"),
    ),
    key=("event_id",),
    refs=(Ref("student_key", "student"), Ref("organization_id", "organization")),
    tombstone="is_deleted",
)
