"""Example blade manifests and the XML schema (package data)."""
