"""students — Обучающиеся (full snapshot; CSV). Identifying columns go to `pii.students` only."""

from ingestion.contracts import Column, Feed, Ref

FEED = Feed(
    name="students",
    title="Обучающиеся",
    order=2,
    mode="snapshot",
    formats=("csv",),
    columns=(
        Column("student_id", "ID обучающегося", "id", required=True, pseudonym="student_key"),
        Column(
            "snils",
            "СНИЛС",
            "snils",
            pii=True,
            in_header=True,
            derived=(("has_snils", "present"), ("is_snils_valid", "valid")),
        ),
        Column("surname", "Фамилия", required=True, pii=True),
        Column("first_name", "Имя", required=True, pii=True),
        Column("patronymic", "Отчество", pii=True),
        Column(
            "birth_date",
            "Дата рождения",
            "date",
            required=True,
            pii=True,
            derived=(("birth_year", "year"),),
        ),
        Column("sex", "Пол", "code", required=True, codes=("М", "Ж")),
        Column(
            "citizenship_code",
            "Гражданство",
            "oksm",
            in_header=True,
            derived=(("citizenship_group", "citizenship_group"),),
        ),
        Column("has_ovz", "ОВЗ", "bool"),
        Column("is_disabled", "Инвалидность", "bool"),
        Column("residence_oktmo", "ОКТМО проживания", "oktmo"),
    ),
    key=("student_key",),
    registers=(Ref("student_key", "student"),),
    has_pii_table=True,
    quarantine_zone="pii",
)
