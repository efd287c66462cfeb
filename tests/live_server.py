"""A real HTTP server in a thread (werkzeug), for clients that need a socket."""

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serving(wsgi_app):
    """Serve `wsgi_app` on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
