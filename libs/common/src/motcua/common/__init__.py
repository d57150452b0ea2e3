"""What every Mot Cua service shares."""
