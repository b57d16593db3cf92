-- Students by pseudonymous key with non-identifying attributes only. Grain: one row per
-- student. The key is still personal data (152-FZ): this table lives in the internal `core`
-- schema, which the dashboards' role cannot read. Health attributes leave it only as aggregates.
with

students as (
    select * from {{ ref('stg_kontingent__students') }}
),

movement_students as (
    -- students known only from movements (the snapshot has not caught up) keep their facts
    select distinct student_id from {{ ref('stg_kontingent__movements') }}
),

known as (
    select
        student_id,
        sex,
        birth_year,
        citizenship_group,
        has_ovz,
        is_disabled,
        left(residence_oktmo, 5) as residence_municipality_id,
        first_seen_date,
        last_seen_date,
        true as is_in_registry
    from students
),

unregistered as (
    select
        movement_students.student_id,
        'unknown' as sex,
        null::smallint as birth_year,
        'unknown' as citizenship_group,
        false as has_ovz,
        false as is_disabled,
        null::text as residence_municipality_id,
        null::date as first_seen_date,
        null::date as last_seen_date,
        false as is_in_registry
    from movement_students
    left join students
        on movement_students.student_id = students.student_id
    where students.student_id is null
),

final as (
    select * from known
    union all
    select * from unregistered
)

select * from final
