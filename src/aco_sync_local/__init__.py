"""Local runner and CLI for ACO Sync (not deployed)."""
