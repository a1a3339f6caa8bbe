"""gunicorn settings for MemberCare (`gunicorn -c deploy/gunicorn.conf.py membercare.wsgi`).

Every value can be changed from the environment: GUNICORN_BIND, WEB_CONCURRENCY (worker processes),
GUNICORN_THREADS, GUNICORN_TIMEOUT, FORWARDED_ALLOW_IPS (the proxy's address, so X-Forwarded-Proto is believed).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))  # gthread: a slow client does not hold a whole worker
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # long work (exports, reports) runs on the queue
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # a worker is replaced now and then (bounded memory over weeks)
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# one line per request with the id the app logs under (X-Request-ID) and the time taken in microseconds
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus rid=%({x-request-id}o)s'
