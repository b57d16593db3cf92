-- Every loaded version of every current mark, renamed (1:1 with raw.marks, loaded files only).
-- The incremental mark fact reads the versions of new loads from here.
with

source as (
    select * from {{ source('raw', 'marks') }}
),

loads as (
    select load_id from {{ source('raw', 'load_log') }}
    where status = 'loaded'
),

final as (
    select
        source.mark_id,
        source.student_key as student_id,
        source.organization_id,
        source.class_name,
        source.subject,
        source.lesson_date,
        source.mark_value as mark_code,
        source.work_type,
        source.weight,
        source.teacher_key as teacher_id,
        source.changed_at,
        source.extract_date,
        source.load_id,
        source.line_number,
        coalesce(source.is_deleted, false) as is_deleted
    from source
    inner join loads on source.load_id = loads.load_id
)

select * from final
