"""The deployment checks, a package so that they share service_settings (pytest imports with importlib)."""
