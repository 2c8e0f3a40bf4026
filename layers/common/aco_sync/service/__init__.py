"""The use cases the Lambda handlers call, one module per workflow step (docs/WORKFLOW.md).

Every function takes its stores (``aco_sync.adapters.environment.Stores``) as its first argument:

- ``start_sync``: triggers (``start_syncs``, ``start_sync``);
  ``lock``: ``acquire_aco_lock``, ``release_aco_lock``;
- ``validation``: ``validate_roster``; ``initial_sync``: ``initial_sync``;
  ``cleanup``: ``clean_up_removed_encounters``;
- ``clinic_sync``: ``sync_member_clinic``, ``record_clinic_failure``; ``finalize``: ``finalize_member_sync``;
- ``mcqm_sync``: ``match_roster``; ``aggregate_stats``: ``update_aggregate_stats``;
  ``clinic_stats``: ``store_clinic_stats``;
- ``sync_status``: ``record_sync_status``; ``roster_ingest``: ``ingest_roster``;
- ``status``: ``latest_sync_status``, ``sync_history`` (read model for the CLI and the local runner).
"""
