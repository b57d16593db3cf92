-- The data cut-off every form states: the newest extract date loaded, per feed and overall.
-- Read from the load log (one row per file, its extract date), not from the loaded rows, so it
-- costs the same whatever the region's size. Grain: one row per feed, plus the row `all`.
with

feed_names as (
    select feed
    from (
        values ('organizations'), ('students'), ('movements'), ('final_marks'), ('accounts')
    ) as names (feed)
),

loads as (
    select
        feed,
        extract_date
    from {{ source('raw', 'load_log') }}
    where status = 'loaded' and extract_date is not null
),

feeds as (
    select
        feed_names.feed,
        max(loads.extract_date) as cutoff_date
    from feed_names
    left join loads on feed_names.feed = loads.feed
    group by feed_names.feed
),

final as (
    select
        feed,
        cutoff_date
    from feeds
    union all
    select
        'all' as feed,
        max(cutoff_date) as cutoff_date
    from feeds
)

select * from final
