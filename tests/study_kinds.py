"""A test-only case kind, ``fault``, for the fault tests of the study machinery.

Studies load it with ``study.plugins = ["tests.study_kinds"]``. Its ``base.fault.mode``:

- ``"ok"``: return ``value`` and the number of ranks;
- ``"raise"``: raise on every rank;
- ``"return_failed"``: return a failure record (status/reason/step), as a solver does;
- ``"raise_rank1"``: raise on rank 1 only while rank 0 waits in a collective (MPI abort path);
- ``"sleep"``: sleep ``sleep_s`` in short steps (so SIGTERM is seen), then return like ``ok``;
  ``NRE_TEST_NO_SLEEP=1`` in the environment skips the sleep (the "resubmitted" run).

Every start and finish is appended to the file ``NRE_TEST_LEDGER`` (if set) as
``<event> <value> <NRE_TEST_RUN> <pid>``, so tests can count how often each case ran.
No physics: this kind only exercises failure handling.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from studies.kinds import register_kind
from studies.schema import SCHEMA, Field

SCHEMA.add_section(
    "base.fault",
    [
        Field("mode", str, default="ok",
              choices=("ok", "raise", "return_failed", "raise_rank1", "sleep")),
        Field("value", float, default=0.0),
        Field("sleep_s", float, default=0.0, low=0.0, high=600.0, unit="s"),
    ],
)


def _ledger(event: str, value: float, comm) -> None:
    path = os.environ.get("NRE_TEST_LEDGER")
    if path and comm.rank == 0:
        # One short O_APPEND write per line: lines from concurrent processes do not interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{event} {value!r} {os.environ.get('NRE_TEST_RUN', '-')} "
                         f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)


def run_fault(params: dict, comm, workdir: Path) -> dict:
    """See the module docstring."""
    spec = params["fault"]
    mode, value = spec["mode"], spec["value"]
    _ledger("start", value, comm)
    if mode == "raise":
        raise RuntimeError(f"deliberate failure for value {value}")
    if mode == "return_failed":
        return {"status": "failed", "reason": "diverged (deliberately)", "step": 3,
                "residual": 1.5e3}
    if mode == "raise_rank1":
        if comm.rank == 1:
            raise RuntimeError("deliberate failure on rank 1 only")
        comm.barrier()  # rank 0 waits here forever: only an MPI abort ends it
    if mode == "sleep" and os.environ.get("NRE_TEST_NO_SLEEP") != "1":
        end = time.monotonic() + spec["sleep_s"]
        while time.monotonic() < end:
            time.sleep(0.05)
    comm.barrier()
    _ledger("finish", value, comm)
    return {"value": value, "ranks": comm.size}


register_kind("fault", run_fault, cost_core_s=lambda p: 0.5 + p["fault"]["sleep_s"])
