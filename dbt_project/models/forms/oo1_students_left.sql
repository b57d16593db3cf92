-- ОО-1, section 3: departures from general-education programs (НОО, ООО, СОО) during an
-- academic year, by program level and reason: one row per expulsion event (a student who left
-- two organizations counts once for each). Graduations are not departures. The form of report
-- year Y shows the academic year Y-1/Y. Grain: report year × level × territory × program level
-- × exit reason.
with

departures as (
    select * from {{ ref('fct_movement') }}
    where
        event_type = 'expulsion'
        and is_main_program
        and program_level in ('primary', 'basic', 'secondary')
),

pairs as (
    select distinct
        organization_id,
        event_date as on_date
    from departures
),

units as (
    {{ forms_reporting_units('pairs') }}
),

event_rows as (
    select
        departures.academic_year_start + 1 as report_year,
        departures.organization_id as unit_id,
        units.reporting_organization_id,
        units.municipality_id,
        departures.program_level,
        coalesce(departures.exit_reason, 'unknown') as exit_reason,
        departures.event_id
    from departures
    left join units
        on
            departures.organization_id = units.organization_id
            and departures.event_date = units.on_date
),

final as (
    select
        report_year,
        {{ forms_level_columns() }},
        program_level,
        exit_reason,
        count(*) as departures
    from event_rows
    group by report_year, program_level, exit_reason, {{ forms_level_sets() }}
)

select * from final
