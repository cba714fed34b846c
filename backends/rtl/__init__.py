"""Amaranth component generation for FPGA partitions, Verilog, RTL simulation, bitstreams."""
