{#-
    The pre-hook of the incremental mark fact: before the new versions are merged in, remove
    the marks that a load newer than the fact's newest one deletes (a deleted mark is never
    inserted; a mark deleted and given again in the same loads comes back with its newest
    version). A full build has nothing to remove.
-#}
{% macro fct_mark_remove_deleted() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as marks
        using {{ ref('stg_journal__mark_versions') }} as versions
        where
            versions.load_id > (select coalesce(max(this.load_id), 0) from {{ this }} as this)
            and versions.is_deleted
            and marks.mark_id = versions.mark_id
    {%- endif -%}
{%- endmacro %}
