{#-
    The one way back from a lost child's pseudonymous key to a name and birth date, owned by the
    restricted zone (run as a post-hook of `fct_lost_child`; see docs/trajectories.md).

    `pii.lost_children_of(municipality_id, requested_by)` returns the lost children of that one
    municipality only, with surname, first name, patronymic and birth date from the newest
    version in `pii.students`, and writes every call to `pii.reidentification_log` (when, the
    database role, who asked, which municipality, which keys). Security definer: the caller needs
    no access to `pii` or `core`, only EXECUTE, granted to the restricted role alone.
-#}
{% macro create_lost_children_reidentification(lost_children) %}
{#- schema-qualified only: a copy or a restore of the database under another name must work -#}
{%- set lost_children = lost_children.include(database=false) -%}
create table if not exists pii.reidentification_log (
    call_id bigint generated always as identity primary key,
    called_at timestamptz not null default now(),
    database_role text not null default session_user,
    requested_by text not null,
    municipality_id text not null,
    student_keys text [] not null
);

create or replace function pii.lost_children_of(p_municipality_id text, p_requested_by text)
returns table (
    student_key text,
    surname text,
    first_name text,
    patronymic text,
    birth_date date,
    last_organization_id text,
    exit_date date,
    days_since_exit integer
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
begin
    if coalesce(p_municipality_id, '') = '' or coalesce(p_requested_by, '') = '' then
        raise exception 'a municipality and the person asking are required';
    end if;
    return query
    with lost as (
        select l.student_id, l.last_organization_id, l.exit_date, l.days_since_exit
        from {{ lost_children }} as l
        where l.municipality_id = p_municipality_id
    ),
    logged as (
        insert into pii.reidentification_log (requested_by, municipality_id, student_keys)
        select p_requested_by, p_municipality_id,
            coalesce(array_agg(lost.student_id order by lost.student_id), '{}')
        from lost
        returning call_id
    )
    select lost.student_id, person.surname, person.first_name, person.patronymic,
        person.birth_date, lost.last_organization_id, lost.exit_date, lost.days_since_exit
    from lost
    cross join (select count(*) from logged) as written
    left join lateral (
        select s.surname, s.first_name, s.patronymic, s.birth_date
        from pii.students as s
        where s.student_key = lost.student_id
        order by s.extract_date desc, s.load_id desc, s.line_number
        limit 1
    ) as person on true
    order by lost.exit_date, lost.student_id;
end
$fn$;

comment on function pii.lost_children_of(text, text) is
    'Lost children of one municipality with name and birth date; every call is written to '
    'pii.reidentification_log. Security definer; EXECUTE for the restricted role only.';
revoke all on function pii.lost_children_of(text, text) from public;
do $grant$
begin
    if exists (select 1 from pg_roles where rolname = 'kontingent_pii') then
        execute 'grant execute on function pii.lost_children_of(text, text) to kontingent_pii';
    end if;
    -- the forms page's role: this function and nothing else of the restricted zone
    if exists (select 1 from pg_roles where rolname = 'kontingent_reidentify') then
        execute 'grant execute on function pii.lost_children_of(text, text) '
            || 'to kontingent_reidentify';
    end if;
end
$grant$;
{% endmacro %}
