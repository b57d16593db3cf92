-- The yearly status of every student of general education (НОО/ООО/СОО): one class per student
-- and academic year, the first that applies in the order of docs/trajectories.md (graduated,
-- continued, repeated, reorganized, transfers by where the child arrived, grade 9 to grade 10
-- elsewhere, vocational, family education, left the region, left lawfully, lost, left after
-- compulsory age, undetermined). Grain: student × academic year, for every student enrolled in
-- a general-education program at some time in that year (up to the data cut-off).
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
    where exit_program_level in ('primary', 'basic', 'secondary')
),

bounds as (
    select * from {{ ref('int_data_cutoff') }}
),

years as (
    select
        year_start.year_number as academic_year_start,
        make_date(year_start.year_number, 9, 1) as year_from,
        least(make_date(year_start.year_number + 1, 9, 1), bounds.cutoff_date + 1) as year_to
    from bounds
    cross join lateral generate_series(
        {{ academic_year_of('bounds.first_extract_date') }},
        {{ academic_year_of('bounds.cutoff_date') }}
    ) as year_start (year_number)
),

student_years as (
    -- the organization and grade level of the student's last general-education state that year
    select distinct on (states.student_id, years.academic_year_start)
        states.student_id,
        years.academic_year_start,
        states.organization_id,
        states.grade_level,
        states.valid_from
    from states
    inner join years
        on states.valid_from < years.year_to and states.valid_to > years.year_from
    order by states.student_id asc, years.academic_year_start asc, states.valid_from desc, states.event_id asc
),

event_flags as (
    select
        student_id,
        {{ academic_year_of('event_date') }} as academic_year_start,
        bool_or(event_type = 'graduation' and program_level = 'secondary' and grade_level = 11)
            as is_graduated,
        bool_or(event_type = 'repeat') as is_repeated
    from events
    group by student_id, {{ academic_year_of('event_date') }}
),

exit_flags as (
    select
        student_id,
        academic_year_start,
        bool_or(is_exit_on_reorganization and has_arrived and match_outcome <> 'returned')
            as is_reorganized,
        bool_or(
            exit_type = 'expulsion' and match_outcome <> 'returned'
            and arrival_program_level in ('primary', 'basic', 'secondary')
            and arrival_municipality_id is not distinct from exit_municipality_id
        ) as is_transfer_within_municipality,
        bool_or(
            exit_type = 'expulsion' and match_outcome <> 'returned'
            and arrival_program_level in ('primary', 'basic', 'secondary')
            and arrival_municipality_id is distinct from exit_municipality_id
        ) as is_transfer_to_other_municipality,
        bool_or(
            exit_type = 'graduation' and exit_grade_level = 9 and match_outcome <> 'returned'
            and arrival_program_level = 'secondary'
        ) as is_grade9_to_grade10_elsewhere,
        bool_or(arrival_program_level = 'vocational') as is_to_vocational,
        bool_or(exit_reason = 'family_education') as is_to_family_education,
        bool_or(exit_reason = 'relocation' and not has_arrived) as is_left_region,
        bool_or(
            exit_reason = 'student_initiative' and not has_arrived
            and age_at_exit >= 15 and exit_grade_level <= 9
        ) as is_left_lawfully,
        bool_or(
            not has_arrived and is_window_closed
            and coalesce(age_at_exit < 18, true) and not has_secondary_education
        ) as is_lost,
        bool_or(not has_arrived and is_window_closed) as is_left_after_compulsory_age,
        bool_or(not has_arrived and not is_window_closed) as is_undetermined
    from exits
    group by student_id, academic_year_start
),

classified as (
    select
        student_years.student_id,
        student_years.academic_year_start,
        student_years.organization_id,
        student_years.grade_level,
        organization.municipality_id,
        case
            when event_flags.is_graduated then 'graduated'
            when event_flags.is_repeated then 'repeated'
            when exit_flags.is_reorganized then 'reorganized'
            when exit_flags.is_transfer_within_municipality then 'transfer_within_municipality'
            when exit_flags.is_transfer_to_other_municipality
                then 'transfer_to_other_municipality'
            when exit_flags.is_grade9_to_grade10_elsewhere then 'grade9_to_grade10_elsewhere'
            when exit_flags.is_to_vocational then 'to_vocational'
            when exit_flags.is_to_family_education then 'to_family_education'
            when exit_flags.is_left_region then 'left_region'
            when exit_flags.is_left_lawfully then 'left_lawfully'
            when exit_flags.is_lost then 'lost'
            when exit_flags.is_left_after_compulsory_age then 'left_after_compulsory_age'
            when exit_flags.is_undetermined then 'undetermined'
            else 'continued'
        end as status
    from student_years
    left join
        lateral
        {{ organization_version_on('student_years.organization_id', 'student_years.valid_from') }}
            as organization
        on true
    left join event_flags
        on
            student_years.student_id = event_flags.student_id
            and student_years.academic_year_start = event_flags.academic_year_start
    left join exit_flags
        on
            student_years.student_id = exit_flags.student_id
            and student_years.academic_year_start = exit_flags.academic_year_start
),

final as (
    select
        classified.student_id,
        classified.academic_year_start,
        classified.academic_year_start || '/' || classified.academic_year_start + 1
            as academic_year,
        classified.organization_id,
        classified.municipality_id,
        classified.grade_level,
        classified.status,
        statuses.status_order,
        statuses.status_ru
    from classified
    inner join {{ ref('dim_trajectory_status') }} as statuses
        on classified.status = statuses.status
)

select * from final
