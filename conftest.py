"""Every test in the repository gets the platform's shared fixtures (real servers, isolation, tokens)."""

pytest_plugins = ["motcua.devtools.testing"]
