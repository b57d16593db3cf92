-- The data cut-off of the trajectories: the newest extract date of any feed loaded (on a day
-- whose extract brought marks but no movement file, the movements are complete up to that day
-- too), and the first extract date (the academic year it falls in is the first one the
-- trajectories cover: the history before it holds current spells only). Grain: one row.
with

extract_dates as (
    select extract_date from {{ ref('stg_kontingent__movements') }}
    union all
    select extract_date from {{ ref('stg_kontingent__organization_snapshots') }}
    union all
    select last_seen_date as extract_date from {{ ref('stg_kontingent__students') }}
    union all
    select extract_date from {{ ref('stg_journal__mark_versions') }}
    union all
    select extract_date from {{ ref('stg_journal__final_marks') }}
    union all
    select extract_date from {{ ref('stg_journal__accounts') }}
),

final as (
    select
        min(extract_date) as first_extract_date,
        max(extract_date) as cutoff_date
    from extract_dates
)

select * from final
