-- Outcomes of the exits that must be followed up, per academic year (of the exit) and
-- municipality the student left: announced transfers (`перевод в другую ОО`, reorganizations
-- apart), exits on a reorganization, and the other exits of children of compulsory-school age;
-- each by outcome (arrived where announced, arrived elsewhere, did not arrive, …). No persons.
-- Counts of 1–4 are also given suppressed (`students_suppressed` null) for the roles that may
-- not see small cells. Grain: academic year × municipality × exit kind × outcome.
with

matches as (
    select * from {{ ref('fct_transfer_match') }}
),

kinds as (
    select
        academic_year_start,
        coalesce(exit_municipality_id, '{{ var("kontingent:unknown_key") }}')
            as municipality_id,
        match_outcome,
        case
            when is_exit_on_reorganization then 'reorganization'
            when is_announced_transfer then 'announced_transfer'
            else 'other_exit'
        end as exit_kind
    from matches
),

final as (
    select
        academic_year_start,
        academic_year_start || '/' || academic_year_start + 1 as academic_year,
        municipality_id,
        exit_kind,
        match_outcome,
        count(*) as students,
        case when count(*) < 5 then null else count(*) end as students_suppressed
    from kinds
    group by academic_year_start, municipality_id, exit_kind, match_outcome
)

select * from final
