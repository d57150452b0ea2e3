"""Mot Cua catalogue service."""
