"""AWS access behind small interfaces: ``ports`` (Protocols), ``aws`` (boto3), ``memory`` (fakes)."""
