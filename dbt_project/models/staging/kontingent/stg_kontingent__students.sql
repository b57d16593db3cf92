-- A table, not a view as the rest of staging: the newest-version pass over the whole history
-- runs once per build instead of once for each reader (`dim_student` and the tests of this grain).
{{ config(materialized='table', indexes=[{'columns': ['student_id']}]) }}

-- One row per student (pseudonymous key): the newest version from the snapshots, with the
-- non-identifying attributes analysis needs. Names, SNILS and birth dates stay in `pii`.
with

source as (
    select * from {{ source('raw', 'students') }}
),

loads as (
    select load_id from {{ source('raw', 'load_log') }}
    where status = 'loaded'
),

versions as (
    select source.*
    from source
    inner join loads on source.load_id = loads.load_id
),

seen as (
    select
        student_key,
        min(extract_date) as first_seen_date,
        max(extract_date) as last_seen_date
    from versions
    group by student_key
),

newest as (
    select distinct on (student_key) *
    from versions
    order by student_key asc, extract_date desc, load_id desc, line_number asc
),

final as (
    select
        newest.student_key as student_id,
        newest.birth_year,
        newest.residence_oktmo,
        newest.has_snils,
        newest.is_snils_valid,
        seen.first_seen_date,
        seen.last_seen_date,
        newest.extract_date,
        case newest.sex when 'М' then 'male' when 'Ж' then 'female' else 'unknown' end as sex,
        coalesce(newest.citizenship_group, 'unknown') as citizenship_group,
        coalesce(newest.has_ovz, false) as has_ovz,
        coalesce(newest.is_disabled, false) as is_disabled
    from newest
    inner join seen on newest.student_key = seen.student_key
)

select * from final
