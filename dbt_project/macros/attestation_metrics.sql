{#-
    The one definition of the attestation metrics (see docs/metrics.md). Input: rows of one
    student's final marks in one period, aggregated per student with `student_attestation_flags`;
    then counted at any level with `attestation_counts`, never averaged from a lower level.
-#}

{% macro student_attestation_flags(mark_kind, numeric_value, is_failing) -%}
    -- subject to attestation: at least one final mark other than `осв`
    count(*) filter (where {{ mark_kind }} <> 'exempt') > 0 as is_subject_to_attestation,
    count(*) filter (where {{ is_failing }}) as failing_marks,
    count(*) filter (where {{ numeric_value }} is not null) as numeric_marks,
    count(*) filter (where {{ numeric_value }} in (4, 5)) as good_marks,
    count(*) filter (where {{ numeric_value }} = 5) as excellent_marks,
    count(*) filter (where {{ numeric_value }} = 4) as four_marks,
    sum({{ numeric_value }}) as numeric_mark_sum
{%- endmacro %}

{% macro student_attestation_outcomes() -%}
    is_subject_to_attestation
    and failing_marks = 0 as has_passed,
    is_subject_to_attestation
    and failing_marks = 0
    and numeric_marks > 0
    and good_marks = numeric_marks as has_quality,
    is_subject_to_attestation
    and failing_marks = 0
    and numeric_marks > 0
    and excellent_marks = numeric_marks as is_excellent,
    is_subject_to_attestation
    and failing_marks = 0
    and numeric_marks > 0
    and good_marks = numeric_marks
    and four_marks > 0 as is_good,
    is_subject_to_attestation and failing_marks = 1 as has_one_failing_mark
{%- endmacro %}

{% macro attestation_counts() -%}
    count(*) filter (where is_subject_to_attestation) as students_attested,
    count(*) filter (where has_passed) as students_passed,
    count(*) filter (where has_quality) as students_quality,
    count(*) filter (where is_excellent) as students_excellent,
    count(*) filter (where is_good) as students_good,
    count(*) filter (where has_one_failing_mark) as students_one_failing_mark,
    round(
        100.0 * count(*) filter (where has_passed)
        / nullif(count(*) filter (where is_subject_to_attestation), 0), 2
    ) as pass_rate,
    round(
        100.0 * count(*) filter (where has_quality)
        / nullif(count(*) filter (where is_subject_to_attestation), 0), 2
    ) as quality_rate,
    round(sum(numeric_mark_sum)::numeric / nullif(sum(numeric_marks), 0), 4) as mean_final_mark
{%- endmacro %}
