"""Ferry's benchmark harness (``python -m bench``, ``make bench``): Ferry against a minimal
grpcio ceiling and a tus server, over loopback, with figures written to bench/RESULTS.md."""
