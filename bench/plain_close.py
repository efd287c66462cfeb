"""gunicorn settings for one baseline of bench/http.py, never for serving:
service/web/gunicorn_conf.py as shipped, but each connection closed at once.

Since version 24 gunicorn closes a connection as RFC 9112 section 9.6 asks: it sends
its FIN, then reads until the client closes too (at most 2 s), so that a request it
did not read in full cannot turn into a reset that cuts the response short. A sync
worker waits out that round trip on every request. Served with this file, the empty
app shows what the wait costs.
"""

from service.web import gunicorn_conf as _shipped
from service.web.gunicorn_conf import *  # noqa: F403 - the shipped settings, unchanged


def post_worker_init(worker):
    from gunicorn import util

    util.close_graceful = lambda sock, *args, **kwargs: sock.close()
    _shipped.post_worker_init(worker)
