"""Mot Cua notification service."""
