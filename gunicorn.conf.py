"""gunicorn's settings for billingportal (`gunicorn -c gunicorn.conf.py billingportal.wsgi`).

Everything an operator tunes comes from the environment:

- PORT (8000) and BIND (0.0.0.0:$PORT): where to listen;
- WEB_CONCURRENCY (2): worker processes; GUNICORN_THREADS (4): threads in each. The
  dashboard's requests wait on the database and, for live reads, on a provider, so
  threads (gthread) give concurrency without a process per request;
- GUNICORN_TIMEOUT (30 s): a worker silent for longer is restarted. Provider calls made
  while a person waits are bounded well below it (`providers.http`, the call budget);
- GUNICORN_GRACEFUL_TIMEOUT (20 s): on SIGTERM, requests in flight get this long;
- GUNICORN_MAX_REQUESTS (0, off): replace a worker after this many requests.
"""

import os

_port = os.environ.get("PORT", "8000")
bind = os.environ.get("BIND", f"0.0.0.0:{_port}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Workers are not replaced by request count (GUNICORN_MAX_REQUESTS, 0: never): a gthread
# worker so replaced resets the connections it had accepted but not begun (gunicorn
# #3038, open in 23.0), which the failover test saw once the list was served from the
# page cache fast enough to reach the old limit of 2,000. The timeout still replaces a
# stuck worker.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 200 if max_requests else 0
# The access log on stdout, one line per request, with its duration in microseconds.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(D)sus "%(a)s"'
errorlog = "-"
# Behind a proxy that sets X-Forwarded-For/Proto (TRUSTED_PROXIES in the settings).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# In production (LOG_FORMAT=json, the default with DEBUG off) gunicorn's own lines are
# JSON objects too, like the app's (billingportal/settings.py, LOGGING).
_debug = os.environ.get("DEBUG", "0").lower() in ("1", "true", "yes", "on")
if os.environ.get("LOG_FORMAT", "plain" if _debug else "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "out": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"level": "INFO", "handlers": ["out"]},  # (Django's LOGGING takes over)
        "loggers": {
            "gunicorn.error": {"handlers": ["out"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["out"], "level": "INFO", "propagate": False},
        },
    }
