"""Numbered migrations, each with a one-line why and a real downgrade()."""
