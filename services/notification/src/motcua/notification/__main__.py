"""`python -m motcua.notification`: settings from the environment, then serve."""

from __future__ import annotations

from motcua.common.settings import load
from motcua.common.web import serve
from motcua.notification.app import build_app
from motcua.notification.settings import Settings


def main() -> None:
    settings = load(Settings)
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
