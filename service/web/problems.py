"""RFC 9457 problem details for every error the service answers."""

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None,
            invalid_params: list[dict] | None = None, type_: str = "about:blank",
            extensions: dict | None = None) -> Response:
    body = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if invalid_params:
        body["invalid-params"] = invalid_params
    body.update(extensions or {})
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def invalid_params(exc: ValidationError) -> list[dict]:
    """{name: the field's path ("" for the whole document), reason} for each message.

    Read off marshmallow's nested messages, not off their "path: message" lines: a message
    of the whole document may hold ": " itself ("order 0: reserved") and names no field.
    """
    return list(_params(exc.messages, ""))


def _params(messages, path: str):
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _params(value, path if key == "_schema" else f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from _params(message, path)
    else:
        yield {"name": path, "reason": str(messages)}


def register(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def validation_failed(exc: ValidationError):
        params = invalid_params(exc)
        names = ", ".join(p["name"] for p in params if p["name"])
        return problem(422, "Invalid request", f"invalid fields: {names}" if names else None, params)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        """413 says how large the content may be on this route (service/limits.py)."""
        most = request.max_content_length
        reason = f"larger than {most} bytes" if most else "too large"
        return problem(413, exc.name, f"the request content is {reason}", [{"name": "content", "reason": reason}])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        response = problem(exc.code or 500, exc.name, exc.description)
        for name, value in exc.get_headers():  # Allow, WWW-Authenticate, Retry-After ...
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return problem(500, "Internal Server Error", "the error was logged")
