"""Mot Cua submission service."""
