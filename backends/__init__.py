"""Code generation backends: C++/OpenMP/MPI for CPUs and Amaranth/Verilog for FPGAs."""
