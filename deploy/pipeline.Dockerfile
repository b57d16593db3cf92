# syntax=docker/dockerfile:1
# The pipeline image: Airflow 3, Cosmos, dbt, Great Expectations and the project, installed from
# requirements/pipeline.lock only (the same versions as the local .venv). Build from the checkout:
#   docker compose build      (or: docker build -f deploy/pipeline.Dockerfile .)
# The lock file is resolved for Python 3.11 on x86-64 Linux, hence the base image below.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# uv is the installer the Makefile uses (same version); it stays in this stage.
ARG UV_VERSION=0.13.8
ENV UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1
RUN python -m pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
WORKDIR /opt/kontingent
RUN uv venv --python /usr/local/bin/python3.11 /opt/venv
COPY requirements/pipeline.lock requirements/pipeline.lock
RUN uv pip sync --python /opt/venv/bin/python requirements/pipeline.lock
# the project itself (what .dockerignore lets through), without dependencies: they all come
# from the lock file above
COPY . .
RUN uv pip install --python /opt/venv/bin/python --no-deps -e .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kontingent-pipeline" \
      org.opencontainers.image.description="Kontingent: Airflow, dbt, Great Expectations and the loaders" \
      org.opencontainers.image.licenses="Apache-2.0"
ARG APP_UID=50000
RUN groupadd --system --gid "${APP_UID}" kontingent \
    && useradd --system --uid "${APP_UID}" --gid kontingent --home-dir /var/lib/kontingent \
       --create-home --shell /usr/sbin/nologin kontingent
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/kontingent /opt/kontingent
WORKDIR /opt/kontingent
# Folders that named volumes mount over must exist and belong to the service user, so that a new
# volume starts out writable by it.
RUN mkdir -p /opt/airflow/logs /opt/airflow/auth \
       /var/lib/kontingent/landing /var/lib/kontingent/quarantine /var/lib/kontingent/forms \
       /var/lib/kontingent/dbt \
    && chown -R kontingent:kontingent /opt/airflow /var/lib/kontingent \
    && chmod 700 /opt/airflow/auth
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    DBT_PROFILES_DIR=/opt/kontingent/dbt_project \
    DBT_PROJECT_DIR=/opt/kontingent/dbt_project \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false
USER kontingent
CMD ["airflow", "version"]
