# syntax=docker/dockerfile:1
# The service's image: build the wheel and its dependencies (versions from constraints.txt)
# in one stage, run them in a slim one as a non-root user with no compiler and no embedded
# PostgreSQL (it talks to Cloud SQL or the DATABASE_URL it is given).
#   docker build -t postback .
#   docker build --build-arg EXTRAS=embedded -t postback .   (with the embedded PostgreSQL)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/postback
COPY pyproject.toml constraints.txt README.md ./
# The dependencies first, from an empty package: this layer is rebuilt only when
# pyproject.toml or constraints.txt change, not with every change of the code.
RUN mkdir postback && touch postback/__init__.py \
    && /opt/postback/bin/pip install --constraint constraints.txt ".${EXTRAS:+[$EXTRAS]}" \
    && rm -rf postback
COPY postback ./postback
RUN /opt/postback/bin/pip install --no-deps --force-reinstall .

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin postback
COPY --from=build /opt/postback /opt/postback
# Cloud Run gives PORT; the home and the spool live in /tmp, the only writable folder.
ENV PATH=/opt/postback/bin:$PATH \
    POSTBACK_ENV=production \
    POSTBACK_HOME=/tmp/postback \
    POSTBACK_SPOOL_DIR=/tmp/postback/spool \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080
USER 10001
EXPOSE 8080
CMD ["postback", "serve"]
