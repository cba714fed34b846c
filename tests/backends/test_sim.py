"""``sim.ThreadedDevice``: whatever ends the simulation thread reaches the host that waits
for a command's result -- an error while the design elaborates (it used to kill the thread
silently and leave the host waiting forever: the interval tests hung instead of failing
on a broken unit) or the end of the simulation."""

import threading

from amaranth.hdl import Elaboratable

from cosynth.backends.rtl.host import DeviceError
from cosynth.backends.rtl.sim import AmaranthDevice, ThreadedDevice


class _Broken(Elaboratable):
    regmap = None

    def elaborate(self, platform):
        raise AttributeError("a unit that does not elaborate")


def test_an_elaboration_error_reaches_the_waiting_host():
    assert isinstance(_call(AmaranthDevice(_Broken())), AttributeError)


def test_a_simulation_that_ends_answers_a_waiting_command():
    class Ends(ThreadedDevice):
        def __init__(self):
            self._start()

        def _simulate(self):
            return  # ends at once, answering nothing

    err = _call(Ends())
    assert isinstance(err, DeviceError) and "stopped" in str(err)


def _call(dev):
    """The error a register read on ``dev`` raises, from a thread given 60 s (a lost
    answer fails the test instead of hanging it)."""
    result = []

    def read():
        try:
            dev.read_regs([0])
        except Exception as exc:  # noqa: BLE001
            result.append(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), "the host is still waiting: the simulation's end was lost"
    return result[0]
