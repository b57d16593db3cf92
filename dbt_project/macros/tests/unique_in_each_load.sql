{#-
    Generic test for raw history (a model with load_id): within each load, the combination of
    `columns` is unique. A committed load never changes, so only the loads after the newest
    one a passing run checked are read (macros/checked_loads.sql); --full-refresh or
    `--vars '{"kontingent:check_all_loads": true}'` reads them all.
-#}
{% test unique_in_each_load(model, columns) %}
    select load_id, {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    where load_id > {{ checked_through_load(model.identifier) }}
    group by load_id, {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
