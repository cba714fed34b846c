"""More example kernels: shapes graph programmers write beyond the seven classics, each
with a networkx/SciPy reference in ``cosynth.examples.more.refs``."""
