-- The yearly statuses of a student's trajectory, in the order the first that applies wins
-- (docs/trajectories.md), with Russian names for dashboards. Grain: one row per status.
with

statuses (status_order, status, status_ru, is_followed_up) as (
    values
    (1, 'graduated', 'Получил среднее общее образование', false),
    (2, 'continued', 'Продолжил обучение в той же организации', false),
    (3, 'repeated', 'Оставлен на повторное обучение', false),
    (4, 'reorganized', 'Переведён при реорганизации организации', false),
    (5, 'transfer_within_municipality', 'Перевёлся в пределах муниципалитета', false),
    (6, 'transfer_to_other_municipality', 'Перевёлся в другой муниципалитет', false),
    (7, 'grade9_to_grade10_elsewhere', 'После 9 класса — в 10 класс другой организации', false),
    (8, 'to_vocational', 'Перешёл в СПО', false),
    (9, 'to_family_education', 'Перешёл на семейное образование', false),
    (10, 'left_region', 'Выбыл за пределы региона', false),
    (11, 'left_lawfully', 'Оставил обучение с 15 лет с согласия', false),
    (12, 'lost', 'Выбыл и никуда не зачислен («потерянный»)', true),
    (13, 'left_after_compulsory_age', 'Выбыл после возраста обязательного обучения', false),
    (14, 'undetermined', 'Окно сопоставления ещё не закрыто', false)
),

final as (
    select * from statuses
)

select * from final
