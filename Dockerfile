FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Production's dependencies only: requirements-dev.lock's extras (the Canvas simulator's Werkzeug, honcho, the
# tests) stay out, as .dockerignore keeps out the simulator, the tests and the benchmarks.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
# The project itself, where it is (templates/ and static/ beside it), so its release is known: the User-Agent.
RUN pip install --no-cache-dir --no-deps -e .
RUN DEBUG=false SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput
RUN useradd --create-home portal && mkdir -p var && chown -R portal var
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--logger-class", "portal.log_redaction.AccessLogger"]
