"""Static files served from a fixed list, each with its media type (Swagger UI, the board's scripts)."""

from pathlib import Path

from flask import Response, abort, send_from_directory


def send_asset(assets: dict[str, tuple[Path | str, str]], name: str) -> Response:
    """The file `name` if the list names it (404 otherwise), with the media type the list gives:
    a name from the URL never reaches the file system unless it is one of ours."""
    if name not in assets:
        abort(404)
    folder, media_type = assets[name]
    response = send_from_directory(folder, name)
    response.headers["Content-Type"] = media_type
    return response
