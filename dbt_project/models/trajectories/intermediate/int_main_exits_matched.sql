{{ config(indexes=[{'columns': ['student_id', 'exit_date']}]) }}

-- Every exit from a main program (expulsion or graduation) paired with the same student's next
-- entry (admission or restoration) to a main program anywhere in the region within the
-- matching window (`kontingent:transfer_window_days`, 1 June – 31 August not counted), with
-- what the student had announced, the age at exit and whether the window has closed by the
-- data cut-off. Grain: one row per exit event.
with

events as (
    select * from {{ ref('int_movements_classified') }}
    where is_main_program
),

cutoff as (
    select cutoff_date from {{ ref('int_data_cutoff') }}
),

exits as (
    select * from events
    where is_exit
),

secondary_graduations as (
    select
        student_id,
        min(event_date) as secondary_completed_date
    from events
    where event_type = 'graduation' and program_level = 'secondary' and grade_level = 11
    group by student_id
),

matched as (
    select
        exits.event_id as exit_event_id,
        exits.student_id,
        exits.organization_id,
        exits.event_date as exit_date,
        exits.event_type as exit_type,
        exits.exit_reason,
        exits.program_level as exit_program_level,
        exits.grade_level as exit_grade_level,
        exits.destination_organization_id,
        arrival.event_id as arrival_event_id,
        arrival.organization_id as arrival_organization_id,
        arrival.event_date as arrival_date,
        arrival.event_type as arrival_type,
        arrival.program_level as arrival_program_level,
        arrival.grade_level as arrival_grade_level,
        cutoff.cutoff_date
    from exits
    cross join cutoff
    left join lateral (
        -- the model itself, not a CTE: its index on (student_id, event_date) serves the lookup
        select entries.*
        from {{ ref('int_movements_classified') }} as entries
        where
            entries.student_id = exits.student_id
            and entries.is_main_program
            and entries.is_entry
            and entries.event_date >= exits.event_date
            and {{ school_days_between('exits.event_date', 'entries.event_date') }}
            <= {{ transfer_window_days() }}
        order by entries.event_date asc, entries.event_order asc, entries.event_id asc
        limit 1
    ) as arrival on true
),

described as (
    select
        matched.*,
        exit_org.municipality_id as exit_municipality_id,
        exit_org.organization_type as exit_organization_type,
        arrival_org.municipality_id as arrival_municipality_id,
        arrival_org.organization_type as arrival_organization_type,
        pii.age_on(matched.student_id, matched.exit_date) as age_at_exit,
        coalesce(secondary_graduations.secondary_completed_date <= matched.exit_date, false)
            as has_secondary_education,
        exists(
            select 1
            from {{ ref('int_organizations_historized') }} as versions
            where
                versions.organization_id = matched.organization_id
                and versions.organization_status = 'reorganized'
                and versions.closed_on = matched.exit_date
        ) as is_exit_on_reorganization,
        {{ school_days_between('matched.exit_date', 'matched.arrival_date') }} as days_away,
        {{ school_days_between('matched.exit_date', 'matched.cutoff_date') }}
        >= {{ transfer_window_days() }} as is_window_closed
    from matched
    left join secondary_graduations
        on matched.student_id = secondary_graduations.student_id
    left join
        lateral
        {{ organization_version_on('matched.organization_id', 'matched.exit_date') }}
            as exit_org
        on true
    left join
        lateral
        {{ organization_version_on('matched.arrival_organization_id', 'matched.arrival_date') }}
            as arrival_org
        on true
),

final as (
    select
        *,
        {{ academic_year_of('exit_date') }} as academic_year_start,
        arrival_event_id is not null as has_arrived,
        case
            when arrival_event_id is not null and arrival_organization_id = organization_id
                then 'returned'
            when arrival_event_id is not null and destination_organization_id is null
                then 'arrived_unannounced'
            when
                arrival_event_id is not null
                and arrival_organization_id = destination_organization_id
                then 'arrived_where_announced'
            when arrival_event_id is not null then 'arrived_elsewhere'
            when is_window_closed then 'did_not_arrive'
            else 'pending'
        end as match_outcome
    from described
)

select * from final
