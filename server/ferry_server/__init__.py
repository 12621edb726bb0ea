"""Ferry server: resumable, verified file transfer over gRPC (import ``ferry_server``)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
