-- The data cut-off of the trajectories: the newest extract date of any feed loaded (on a day
-- whose extract brought marks but no movement file, the movements are complete up to that day
-- too), and the first extract date (the academic year it falls in is the first one the
-- trajectories cover: the history before it holds current spells only). Read from the load log
-- (one row per file), not from the loaded rows, so it costs the same whatever the region's size.
-- Grain: one row.
with

loads as (
    select extract_date from {{ source('raw', 'load_log') }}
    where status = 'loaded' and extract_date is not null
),

final as (
    select
        min(extract_date) as first_extract_date,
        max(extract_date) as cutoff_date
    from loads
)

select * from final
