{{
    config(
        materialized='incremental',
        unique_key='student_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['student_id'], 'unique': True},
            {'columns': ['load_id']},
        ],
    )
}}
-- A table, not a view as the rest of staging, and incremental: a run reads only the loads newer
-- than the newest one a row of the table has seen (`load_id`, the newest load that brought a
-- version of the student), and each student met there gets one row again: the newer of its
-- version in the table and the newest version read, by the order of the full pass (extract
-- date, then load: a load read is always newer than the table's), with the first and last
-- extract dates that saw the student over both. A re-sent older extract arriving later changes
-- nothing a full refresh would not.

-- One row per student (pseudonymous key): the newest version from the snapshots, with the
-- non-identifying attributes analysis needs. Names, SNILS and birth dates stay in `pii`.
-- Grain enforced by a unique index on student_id.
{% set incremental = incremental_with('load_id') %}
{% set columns = [
    'student_id', 'birth_year', 'residence_oktmo', 'has_snils', 'is_snils_valid',
    'extract_date', 'sex', 'citizenship_group', 'has_ovz', 'is_disabled',
] %}
with

source as (
    select * from {{ source('raw', 'students') }}
    {% if incremental %}
        where load_id > {{ newest_load_in_this() }}
    {% endif %}
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
        max(extract_date) as last_seen_date,
        max(load_id) as load_id
    from versions
    group by student_key
),

newest as (
    select distinct on (student_key) *
    from versions
    order by student_key asc, extract_date desc, load_id desc, line_number asc
),

read as (
    select
        newest.student_key as student_id,
        newest.birth_year,
        newest.residence_oktmo,
        newest.has_snils,
        newest.is_snils_valid,
        newest.extract_date,
        case newest.sex when 'М' then 'male' when 'Ж' then 'female' else 'unknown' end as sex,
        coalesce(newest.citizenship_group, 'unknown') as citizenship_group,
        coalesce(newest.has_ovz, false) as has_ovz,
        coalesce(newest.is_disabled, false) as is_disabled,
        seen.first_seen_date,
        seen.last_seen_date,
        seen.load_id
    from newest
    inner join seen on newest.student_key = seen.student_key
),

{% if incremental %}
    merged as (
        select
            read.*,
            true as is_read
        from read
        union all
        select
            {% for column in columns %}current_row.{{ column }}, {% endfor %}
            current_row.first_seen_date,
            current_row.last_seen_date,
            current_row.load_id,
            false as is_read
        from {{ this }} as current_row
        inner join read on current_row.student_id = read.student_id
    ),

    newer as (
        -- on the same extract date the version read wins: its load is the newer
        select distinct on (student_id) *
        from merged
        order by student_id asc, extract_date desc, is_read desc
    ),

    merged_seen as (
        select
            student_id,
            min(first_seen_date) as first_seen_date,
            max(last_seen_date) as last_seen_date,
            max(load_id) as load_id
        from merged
        group by student_id
    ),

    final as (
        select
            {% for column in columns %}newer.{{ column }}, {% endfor %}
            merged_seen.first_seen_date,
            merged_seen.last_seen_date,
            merged_seen.load_id
        from newer
        inner join merged_seen on newer.student_id = merged_seen.student_id
    )
{% else %}
    final as (
        select * from read
    )
{% endif %}

select * from final
