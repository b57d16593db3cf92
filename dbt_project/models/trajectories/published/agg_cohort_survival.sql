-- Cohort survival: each cohort of students entering grade 1, 5 or 10 in a year (in that grade
-- on 20 September, and not in it on 20 September of the year before), and where its members
-- are on 20 September of that and every later year up to the data cut-off: in general
-- education (by grade level), in a college (СПО), or — for the others — left the region, in
-- family education, graduated, or not enrolled (after their last exit). Shares are of the
-- cohort, recomputed here. No persons. Grain: cohort year × entry grade × academic year ×
-- status × grade level.
with

states as (
    select * from {{ ref('int_enrolment_states_dated') }}
    where is_main_program
),

bounds as (
    select * from {{ ref('int_data_cutoff') }}
),

count_dates as (
    select
        year_start.year_number as academic_year_start,
        make_date(year_start.year_number, 9, 20) as count_date
    from bounds
    cross join
        lateral generate_series(
            {{ academic_year_of('bounds.first_extract_date') }},
            {{ academic_year_of('bounds.cutoff_date') }}
        ) as year_start (year_number)
    where make_date(year_start.year_number, 9, 20) <= bounds.cutoff_date
),

general_on as (
    select distinct on (count_dates.academic_year_start, states.student_id)
        count_dates.academic_year_start,
        states.student_id,
        states.grade_level
    from count_dates
    inner join states
        on count_dates.count_date >= states.valid_from and count_dates.count_date < states.valid_to
    where states.program_level in ('primary', 'basic', 'secondary')
    order by count_dates.academic_year_start asc, states.student_id asc, states.valid_from desc
),

cohorts as (
    select
        entering.academic_year_start as cohort_year_start,
        entering.grade_level as entry_grade_level,
        entering.student_id
    from general_on as entering
    where
        entering.grade_level in (1, 5, 10)
        and not exists (
            select 1
            from {{ ref('int_enrolment_states_dated') }} as states
            where
                states.student_id = entering.student_id
                and states.is_main_program
                and states.program_level in ('primary', 'basic', 'secondary')
                and states.grade_level = entering.grade_level
                and make_date(entering.academic_year_start - 1, 9, 20) >= states.valid_from
                and make_date(entering.academic_year_start - 1, 9, 20) < states.valid_to
        )
),

followed as (
    select
        cohorts.cohort_year_start,
        cohorts.entry_grade_level,
        cohorts.student_id,
        count_dates.academic_year_start,
        count_dates.count_date
    from cohorts
    inner join count_dates
        on cohorts.cohort_year_start <= count_dates.academic_year_start
),

placed as (
    select
        followed.*,
        general_on.grade_level as general_grade_level,
        exists(
            select 1
            from {{ ref('int_enrolment_states_dated') }} as states
            where
                states.student_id = followed.student_id
                and states.is_main_program
                and states.program_level = 'vocational'
                and followed.count_date >= states.valid_from
                and followed.count_date < states.valid_to
        ) as is_in_vocational,
        last_exit.exit_reason as last_exit_reason,
        last_exit.event_type as last_exit_type,
        last_exit.program_level as last_exit_program_level,
        last_exit.grade_level as last_exit_grade_level
    from followed
    left join general_on
        on
            followed.student_id = general_on.student_id
            and followed.academic_year_start = general_on.academic_year_start
    left join lateral (
        select exits.*
        from {{ ref('int_movements_classified') }} as exits
        where
            exits.student_id = followed.student_id
            and exits.is_main_program
            and exits.is_exit
            and exits.event_date <= followed.count_date
        order by exits.event_date desc, exits.event_order desc, exits.event_id desc
        limit 1
    ) as last_exit on true
),

statuses as (
    select
        cohort_year_start,
        entry_grade_level,
        academic_year_start,
        student_id,
        case
            when general_grade_level is not null then 'general_education'
            when is_in_vocational then 'vocational'
            when last_exit_reason = 'relocation' then 'left_region'
            when last_exit_reason = 'family_education' then 'family_education'
            when
                last_exit_type = 'graduation' and last_exit_program_level = 'secondary'
                and last_exit_grade_level = 11
                then 'graduated'
            else 'not_enrolled'
        end as status,
        general_grade_level as grade_level
    from placed
),

counted as (
    select
        cohort_year_start,
        entry_grade_level,
        academic_year_start,
        status,
        grade_level,
        count(*) as students
    from statuses
    group by cohort_year_start, entry_grade_level, academic_year_start, status, grade_level
),

final as (
    select
        cohort_year_start,
        cohort_year_start || '/' || cohort_year_start + 1 as cohort_year,
        entry_grade_level,
        academic_year_start,
        academic_year_start || '/' || academic_year_start + 1 as academic_year,
        status,
        grade_level,
        status in ('general_education', 'vocational') as is_in_education,
        students,
        (sum(students) over (
            partition by cohort_year_start, entry_grade_level, academic_year_start
        ))::bigint as cohort_students,
        round(
            100.0 * students / sum(students) over (
                partition by cohort_year_start, entry_grade_level, academic_year_start
            ), 2
        ) as share_percent
    from counted
)

select * from final
