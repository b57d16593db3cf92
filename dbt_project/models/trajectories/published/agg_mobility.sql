-- Mobility and stability per general-education organization and academic year. Enrolled: the
-- unduplicated students with a general-education state there at any time of the school year
-- (1 September – 31 May, up to the data cut-off). Mobile: those who entered or left after the
-- count date (20 September) and before the summer, with a gap of more than 10 days (an exit
-- and a return to the same organization within 10 days is no move; a year-end exit whose entry
-- elsewhere comes after 31 May is a summer move; moving with a reorganized organization is no
-- move). Stable: enrolled on the count date and did not leave. Rates are recomputed here, per
-- organization, never summed from students. No persons. Grain: academic year × organization.
with

states as (
    select * from {{ ref('int_enrolment_states_dated') }}
    where is_main_program and program_level in ('primary', 'basic', 'secondary')
),

events as (
    select * from {{ ref('int_movements_classified') }}
    where is_main_program and program_level in ('primary', 'basic', 'secondary')
),

exits as (
    select * from {{ ref('int_main_exits_matched') }}
),

bounds as (
    select * from {{ ref('int_data_cutoff') }}
),

years as (
    select
        year_start.year_number as academic_year_start,
        make_date(year_start.year_number, 9, 1) as year_from,
        make_date(year_start.year_number, 9, 20) as count_date,
        make_date(year_start.year_number + 1, 6, 1) as summer_from,
        least(make_date(year_start.year_number + 1, 6, 1), bounds.cutoff_date + 1) as year_to
    from bounds
    cross join
        lateral generate_series(
            {{ academic_year_of('bounds.first_extract_date') }},
            {{ academic_year_of('bounds.cutoff_date') }}
        ) as year_start (year_number)
    where make_date(year_start.year_number, 9, 20) <= bounds.cutoff_date
),

enrolled as (
    select distinct
        years.academic_year_start,
        states.organization_id,
        states.student_id
    from states
    inner join years
        on states.valid_from < years.year_to and states.valid_to > years.year_from
),

on_count_date as (
    select distinct
        years.academic_year_start,
        states.organization_id,
        states.student_id
    from states
    inner join years
        on states.valid_from <= years.count_date and states.valid_to > years.count_date
),

reorganization_arrivals as (
    select arrival_event_id as event_id
    from exits
    where is_exit_on_reorganization and arrival_event_id is not null
),

leavers as (
    select distinct
        years.academic_year_start,
        exits.organization_id,
        exits.student_id
    from exits
    inner join years
        on exits.exit_date > years.count_date and exits.exit_date < years.year_to
    where
        exits.exit_program_level in ('primary', 'basic', 'secondary')
        and not exits.is_exit_on_reorganization
        and not coalesce(exits.arrival_date >= years.summer_from, false)
        and not exists (
            select 1
            from {{ ref('int_movements_classified') }} as back
            where
                back.student_id = exits.student_id
                and back.is_main_program
                and back.organization_id = exits.organization_id
                and back.is_entry
                and back.event_date between exits.exit_date and exits.exit_date + 10
        )
),

entrants as (
    select distinct
        years.academic_year_start,
        events.organization_id,
        events.student_id
    from events
    inner join years
        on events.event_date > years.count_date and events.event_date < years.year_to
    left join reorganization_arrivals
        on events.event_id = reorganization_arrivals.event_id
    where
        events.is_entry
        and reorganization_arrivals.event_id is null
        and not exists (
            select 1
            from {{ ref('int_movements_classified') }} as gone
            where
                gone.student_id = events.student_id
                and gone.is_main_program
                and gone.organization_id = events.organization_id
                and gone.is_exit
                and gone.event_date between events.event_date - 10 and events.event_date
        )
),

mobile as (
    select * from leavers
    union
    select * from entrants
),

stable as (
    select * from on_count_date
    except
    select * from leavers
),

counted as (
    select
        enrolled.academic_year_start,
        enrolled.organization_id,
        count(*) as students_enrolled,
        count(mobile.student_id) as students_mobile,
        count(stable.student_id) as students_stable
    from enrolled
    left join mobile
        on
            enrolled.academic_year_start = mobile.academic_year_start
            and enrolled.organization_id = mobile.organization_id
            and enrolled.student_id = mobile.student_id
    left join stable
        on
            enrolled.academic_year_start = stable.academic_year_start
            and enrolled.organization_id = stable.organization_id
            and enrolled.student_id = stable.student_id
    group by enrolled.academic_year_start, enrolled.organization_id
),

final as (
    select
        counted.academic_year_start,
        counted.academic_year_start || '/' || counted.academic_year_start + 1 as academic_year,
        counted.organization_id,
        organization.municipality_id,
        counted.students_enrolled,
        counted.students_mobile,
        counted.students_stable,
        round(100.0 * counted.students_mobile / counted.students_enrolled, 2) as mobility_rate,
        round(100.0 * counted.students_stable / counted.students_enrolled, 2) as stability_rate
    from counted
    left join
        lateral
        {{ organization_version_on('counted.organization_id',
            'make_date(counted.academic_year_start, 9, 20)') }}
            as organization
        on true
)

select * from final
