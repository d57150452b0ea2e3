"""Mot Cua identity service."""
