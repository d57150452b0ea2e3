"""Mot Cua gateway service."""
