"""`python -m motcua.submission`: serve the submission service with settings from the environment."""

from __future__ import annotations

from motcua.common.settings import load
from motcua.common.web import serve
from motcua.submission.app import build_app
from motcua.submission.settings import Settings


def main() -> None:
    settings = load(Settings)
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
