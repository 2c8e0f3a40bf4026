"""ACO Sync domain package (deployed as the common Lambda layer)."""
