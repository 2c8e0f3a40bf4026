"""Subcommands of the aco-sync CLI."""
