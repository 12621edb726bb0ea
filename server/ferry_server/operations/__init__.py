"""What an operator watches a replica through: health, metrics, logs."""
