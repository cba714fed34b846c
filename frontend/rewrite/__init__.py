"""Semantics-preserving rewrite rules, one module per rule, each with its proof."""
