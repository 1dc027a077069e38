"""One adapter per platform behind the `Provider` interface."""
