"""The report's figures, drawn with matplotlib's SVG backend and returned as inline SVG.

Each function takes the report data (``htmlreport.data.collect``) and returns the text of
one ``<svg>`` element (no XML prolog), or ``""`` when there is nothing to draw.  Output is
deterministic: a fixed hash salt, no date in the metadata, text kept as text
(``svg.fonttype: none``), and every SVG id prefixed with the figure's name so that several
inline figures never share an id.  matplotlib is imported when a figure is drawn: only
``--report`` needs it.
"""

from __future__ import annotations

import io
import re

__all__ = ["blades", "timeline", "fpga_cycles", "traffic", "accuracy", "choices",
           "fpga_resources", "COLORS"]

COLORS = {"cpu": "#4C78A8", "fpga": "#F58518", "compute": "#4C78A8", "comm": "#E45756",
          "predicted": "#9D9DA3", "measured": "#54A24B", "plan": "#54A24B",
          "alternative": "#B279A2", "baseline": "#9D9DA3", "used": "#4C78A8"}

_RC = {"svg.hashsalt": "cosynth", "svg.fonttype": "none", "font.size": 9,
       "font.family": "sans-serif", "axes.spines.top": False, "axes.spines.right": False}


def _figure(width: float, height: float):
    import matplotlib  # lazy: slow to import (~0.5 s), only --report draws figures
    from matplotlib.figure import Figure  # lazy, as above
    matplotlib.rcParams.update(_RC)
    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig, name: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "cosynth"})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    for i in sorted(ids, key=len, reverse=True):
        new = f"{name}-{i}"
        text = text.replace(f'id="{i}"', f'id="{new}"').replace(f"#{i})", f"#{new})") \
            .replace(f'href="#{i}"', f'href="#{new}"')
    return text.replace("<svg ", f'<svg role="img" aria-label="{name}" ', 1)


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds >= 1:
        return 1.0, "s"
    if seconds >= 1e-3:
        return 1e3, "ms"
    return 1e6, "us"


def blades(d: dict) -> str:
    """The vertex axis 0..n cut into the blades' ranges, coloured by device."""
    bl = d["blades"]
    n = max(1, d["graph"]["n"])
    fig = _figure(9, 1.2 + 0.1 * len(bl))
    ax = fig.add_subplot()
    for b in bl:
        ax.barh(0, b["hi"] - b["lo"], left=b["lo"], color=COLORS[b["device"]],
                edgecolor="white", height=0.6)
        mid = (b["lo"] + b["hi"]) / 2
        ax.text(mid, 0, f"blade {b['blade']}\n{b['device']}", ha="center", va="center",
                color="white", fontsize=8)
        ax.text(mid, -0.45, f"{b['lo']}..{b['hi']}", ha="center", va="top", fontsize=7)
    ax.set_xlim(0, n)
    ax.set_ylim(-0.8, 0.4)
    ax.set_yticks([])
    ax.set_xlabel(f"vertex id (0..{d['graph']['n']}); colour: device (blue CPU, "
                  "orange FPGA)")
    return _svg(fig, "blades")


def timeline(d: dict) -> str:
    """Every blade's supersteps on a time axis: compute then communication, as the plan
    predicts them and (after a run) as the blades measured them."""
    pred, meas = d["timeline"]["predicted"], d["timeline"]["measured"]
    rows = [("predicted", pred)] + ([("measured", meas)] if meas else [])
    P = len(d["blades"])
    fig = _figure(9, 0.9 + 0.45 * P * len(rows))
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, (what, entries) in zip(axes, rows):
        segs = [_segments(e, what) for e in entries]
        end = max((s[-1][0] + s[-1][1] for s in segs if s), default=0.0)
        scale, unit = _time_unit(end or 1e-6)
        for i, s in enumerate(segs):
            for start, width, kind in s:
                ax.broken_barh([(start * scale, width * scale)], (i - 0.35, 0.7),
                               color=COLORS[kind], edgecolor="white", linewidth=0.3)
        ax.set_yticks(range(P), [f"blade {b['blade']} ({b['device']})" for b in d["blades"]])
        ax.invert_yaxis()
        ax.set_xlim(0, max(end * scale, 1e-9))
        ax.set_xlabel(f"{what}: time ({unit}); blue compute, red communication")
    return _svg(fig, "timeline")


def _segments(e: dict, what: str) -> list[tuple[float, float, str]]:
    """(start, width, kind) of one blade's compute and communication segments."""
    before = 0.0
    if what == "predicted":
        comp = [e["compute_s"]] * e["steps"]
        comm = [e["comm_s"]] * e["steps"]
    else:
        comp, comm, before = e["compute_s"], e["comm_s"], e.get("comm_before_s", 0.0)
    if len(comp) > 64:  # the rest summed into one segment each
        comp = comp[:63] + [sum(comp[63:])]
        comm = comm[:63] + [sum(comm[63:])]
    out, t = ([(0.0, before, "comm")], before) if before > 0 else ([], 0.0)
    for c, m in zip(comp, comm):
        out.append((t, c, "compute"))
        t += c
        if m > 0:
            out.append((t, m, "comm"))
            t += m
    return out


def fpga_cycles(d: dict) -> str:
    """FPGA clock cycles per superstep of each FPGA blade, predicted and measured."""
    fb = [b for b in d["blades"] if b["device"] == "fpga"]
    if not fb:
        return ""
    pred, meas = d["timeline"]["predicted"], d["timeline"]["measured"]
    fig = _figure(9, 2.6)
    ax = fig.add_subplot()
    width = 0.8 / len(fb)
    steps = 0
    for j, b in enumerate(fb):
        i = b["blade"]
        if meas:
            ys = meas[i]["fpga_cycles"][:64]
            label = f"blade {i} measured"
        else:
            ys = [pred[i]["fpga_cycles"]] * min(pred[i]["steps"], 64)
            label = f"blade {i} predicted"
        steps = max(steps, len(ys))
        ax.bar([k + j * width for k in range(len(ys))], ys, width=width, label=label)
        if meas:
            ax.axhline(pred[i]["fpga_cycles"], color="black", linestyle="--", linewidth=0.8)
    ax.set_xlabel("superstep" + ("; dashed: predicted cycles per superstep" if meas else ""))
    ax.set_ylabel("FPGA cycles")
    if steps:
        ax.set_xticks(range(steps))
    ax.legend(loc="upper right", fontsize=7)
    return _svg(fig, "fpga-cycles")


def traffic(d: dict) -> str:
    """Traffic between blades: edges from one blade's vertices to another's (what the
    plan's messages follow) and, after a run, the bytes each blade sent to each."""
    mats = [("edges from blade (row) to blade (column)", d["traffic"]["cut_edges"])]
    if d["traffic"]["measured_bytes"] is not None:
        mats.append(("bytes sent, measured", d["traffic"]["measured_bytes"]))
    P = len(d["blades"])
    fig = _figure(4.2 * len(mats), 0.9 + 0.55 * max(P, 2))
    axes = fig.subplots(1, len(mats), squeeze=False)[0]
    for ax, (title, m) in zip(axes, mats):
        top = max((v for row in m for v in row), default=0) or 1
        edges = [k - 0.5 for k in range(P + 1)]  # vector cells (imshow would embed a PNG)
        ax.pcolormesh(edges, edges, m, cmap="Blues", vmin=0, vmax=top)
        ax.set_aspect("equal")
        ax.invert_yaxis()
        for i, row in enumerate(m):
            for j, v in enumerate(row):
                ax.text(j, i, f"{v:,}", ha="center", va="center", fontsize=7,
                        color="white" if v > top / 2 else "black")
        ax.set_xticks(range(P))
        ax.set_yticks(range(P))
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("to blade")
        ax.set_ylabel("from blade")
    return _svg(fig, "traffic")


def accuracy(d: dict) -> str:
    """Predicted against measured seconds per loop nest and per blade (predicted only
    for a plan)."""
    nests = d["nests"]
    if not nests:
        return ""
    measured = any(r["measured_s"] is not None for r in nests)
    per_blade: dict[int, list[float]] = {}
    for r in nests:
        acc = per_blade.setdefault(r["blade"], [0.0, 0.0])
        acc[0] += r["predicted_s"]
        acc[1] += r["measured_s"] or 0.0
    labels = [f"b{r['blade']} L{r['line']}" for r in nests] + \
        [f"blade {b}" for b in per_blade]
    pred = [r["predicted_s"] for r in nests] + [v[0] for v in per_blade.values()]
    meas = [r["measured_s"] or 0.0 for r in nests] + [v[1] for v in per_blade.values()]
    scale, unit = _time_unit(max(pred + meas, default=0.0) or 1e-6)
    fig = _figure(9, 2.8)
    ax = fig.add_subplot()
    xs = range(len(labels))
    w = 0.4 if measured else 0.8
    ax.bar([x - (w / 2 if measured else 0) for x in xs], [p * scale for p in pred], width=w,
           color=COLORS["predicted"], label="predicted")
    if measured:
        ax.bar([x + w / 2 for x in xs], [m * scale for m in meas], width=w,
               color=COLORS["measured"], label="measured")
    ax.axvline(len(nests) - 0.5, color="black", linewidth=0.6)
    ax.set_xticks(list(xs), labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(unit)
    ax.legend(fontsize=7)
    ax.set_title("per loop nest (bN LM: blade N, source line M) | per blade", fontsize=9)
    return _svg(fig, "accuracy")


def choices(d: dict) -> str:
    """The plan's predicted makespan beside each choice's best alternative and the
    baselines (same cost model)."""
    rows = [("this plan", d["predicted"]["makespan_s"], "plan")]
    rows += [(f"{c['what']}: {c['alternative']} ({c['lost_on']})", c["alternative_s"],
              "alternative") for c in d["choices"] if c["alternative_s"] is not None]
    rows += [(f"baseline: {b['name']}", b["seconds"], "baseline") for b in d["baselines"]]
    scale, unit = _time_unit(max(t for _, t, _ in rows) or 1e-6)
    fig = _figure(9, 0.8 + 0.3 * len(rows))
    ax = fig.add_subplot()
    ys = range(len(rows))
    ax.barh(list(ys), [t * scale for _, t, _ in rows],
            color=[COLORS[k] for _, _, k in rows])
    ax.set_yticks(list(ys), [name for name, _, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"predicted makespan ({unit}); in brackets: what the alternative lost on")
    return _svg(fig, "choices")


def fpga_resources(d: dict) -> str:
    """Each FPGA kind's unit against its part: resource use in percent, and the clock
    against the measured Fmax, the manifest's clock and the part's ceiling."""
    rows = d["fpga"]
    if not rows:
        return ""
    fig = _figure(9, 1.0 + 1.4 * len(rows))
    axes = fig.subplots(len(rows), 2, squeeze=False)
    for (ax, cx), r in zip(axes, rows):
        names, pct = [], []
        for key, label in (("luts", "LUTs"), ("bram_bits", "BRAM bits"), ("ffs", "FFs"),
                           ("dsps", "DSPs")):
            used, total = r[key], r[f"{key}_total"]
            if used is not None and total:
                names.append(f"{label} {used:,}/{total:,}")
                pct.append(100.0 * used / total)
        ax.barh(range(len(names)), pct, color=COLORS["used"])
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_xlim(0, max(100.0, *pct) if pct else 100.0)
        ax.set_xlabel(f"{r['part']}: % of the part used")
        ax.invert_yaxis()
        clocks = [("clock used", r["clock_hz"]), ("manifest clock", r["manifest_clock_hz"]),
                  ("measured Fmax", r["fmax_hz"]), ("part ceiling", r["part_ceiling_hz"])]
        clocks = [(n, v) for n, v in clocks if v]
        cx.barh(range(len(clocks)), [v / 1e6 for _, v in clocks],
                color=[COLORS["fpga"] if n == "clock used" else COLORS["baseline"]
                       for n, _ in clocks])
        cx.set_yticks(range(len(clocks)), [n for n, _ in clocks], fontsize=7)
        cx.invert_yaxis()
        cx.set_xlabel("MHz")
    return _svg(fig, "fpga-resources")
