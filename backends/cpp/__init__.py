"""C++ emission for CPU partitions (OpenMP inside a blade, MPI between blades)."""
