"""gRPC transport: servicers, proto <-> domain conversion and status mapping."""
