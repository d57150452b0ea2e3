"""`python -m motcua.catalogue`: serve the catalogue with settings from the environment."""

from motcua.catalogue.app import build_app
from motcua.catalogue.settings import Settings
from motcua.common.settings import load
from motcua.common.web import serve


def main() -> None:
    settings = load(Settings)
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
