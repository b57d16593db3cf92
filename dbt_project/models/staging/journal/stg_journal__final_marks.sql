-- A table, not a view as the rest of staging: the newest-version pass over the whole history
-- runs once per build instead of once for each reader (the final-marks models and the tests
-- of this grain).
{{ config(materialized='table', indexes=[{'columns': ['final_mark_id']}]) }}

-- One row per final mark key (student × organization × school year × period × subject): the
-- newest record wins.
with

source as (
    select * from {{ source('raw', 'final_marks') }}
),

loads as (
    select load_id from {{ source('raw', 'load_log') }}
    where status = 'loaded'
),

newest as (
    select distinct on (
        source.student_key, source.organization_id, source.school_year, source.period,
        source.subject
    ) source.*
    from source
    inner join loads on source.load_id = loads.load_id
    order by
        source.student_key asc, source.organization_id asc, source.school_year asc, source.period asc,
        source.subject asc, source.extract_date desc, source.load_id desc, source.line_number desc
),

final as (
    select
        student_key as student_id,
        organization_id,
        school_year as academic_year,
        period as term_name_ru,
        subject,
        mark_value as mark_code,
        marked_on,
        extract_date,
        load_id,
        md5(concat_ws('|', student_key, organization_id, school_year, period, subject))
            as final_mark_id
    from newest
)

select * from final
