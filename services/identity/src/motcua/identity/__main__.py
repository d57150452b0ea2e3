"""`python -m motcua.identity`: settings from the environment, then serve."""

from motcua.common.web import serve
from motcua.identity.app import build_app
from motcua.identity.settings import Settings


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
