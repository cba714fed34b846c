"""Blade manifests, the cost model, the ILP partitioner, plans and communication stubs."""
