-- One row per current mark: the newest version of each mark ID, deleted marks removed.
with

source as (
    select * from {{ source('raw', 'marks') }}
),

loads as (
    select load_id from {{ source('raw', 'load_log') }}
    where status = 'loaded'
),

newest as (
    select distinct on (source.mark_id) source.*
    from source
    inner join loads on source.load_id = loads.load_id
    order by source.mark_id asc, source.extract_date desc, source.load_id desc, source.line_number asc
),

final as (
    select
        mark_id,
        student_key as student_id,
        organization_id,
        class_name,
        subject,
        lesson_date,
        mark_value as mark_code,
        work_type,
        weight,
        teacher_key as teacher_id,
        changed_at,
        extract_date,
        load_id
    from newest
    where not coalesce(is_deleted, false)
)

select * from final
