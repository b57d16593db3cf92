-- One row per movement event: the newest version of each event ID, cancelled events removed.
with

source as (
    select * from {{ source('raw', 'movements') }}
),

loads as (
    select load_id from {{ source('raw', 'load_log') }}
    where status = 'loaded'
),

newest as (
    select distinct on (source.event_id) source.*
    from source
    inner join loads on source.load_id = loads.load_id
    order by source.event_id asc, source.extract_date desc, source.load_id desc, source.line_number asc
),

final as (
    select
        event_id,
        student_key as student_id,
        organization_id,
        event_type_code,
        event_date,
        program_level_code,
        orientation_code,
        program_code,
        grade_level,
        class_name,
        study_form_code,
        exit_reason_code,
        destination_organization_id,
        order_number,
        order_date,
        extract_date,
        load_id
    from newest
    where not coalesce(is_deleted, false)
)

select * from final
