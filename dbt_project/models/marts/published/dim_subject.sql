-- School subjects as the journals name them. Grain: one row per subject; '-1' is unknown.
with

final_marks as (
    select distinct subject from {{ ref('stg_journal__final_marks') }}
),

marks as (
    select distinct subject from {{ ref('int_marks_by_month') }}
),

subjects as (
    select subject from final_marks
    union
    select subject from marks
),

final as (
    select
        md5(subject) as subject_id,
        subject as subject_name_ru
    from subjects
    where subject is not null
    union all
    select
        '{{ var("kontingent:unknown_key") }}' as subject_id,
        'Неизвестный предмет' as subject_name_ru
)

select * from final
