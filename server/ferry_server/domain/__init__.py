"""Ferry's domain: tasks, blocks, the state machine and the rules, independent of gRPC and SQL."""
