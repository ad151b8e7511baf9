"""The ``nre`` command line: one thin entry point that hands each subcommand to its package.

Each package that owns a subcommand exposes ``register(subparsers)`` in its own ``cli`` module;
this file only lists them. Heavy imports (DOLFINx, Gmsh) happen inside the handlers, so that
``nre --help`` is instant and input errors are reported before anything is meshed or solved.

Every error ends the command with exit status 2 and one line per problem on stderr,
``nre <cmd>: error: <file>[:<line>]: <what>; <allowed>``, printed by rank 0 only when the command
runs under ``mpirun``; ``--debug`` (anywhere on the line) prints the traceback as well. A closed
pipe on stdout (``nre study status DIR | head``) ends the command quietly with status 141, as
``SIGPIPE`` ends other tools.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback

__all__ = ["COMMAND_MODULES", "UserInputError", "build_parser", "error_lines", "main",
           "version_text"]

#: Modules that add subcommands, in the order ``nre --help`` lists them.
COMMAND_MODULES = (
    "meshes.cli",
    "studies.solve_cli",
    "studies.commands",
    "hpc.slurm_cli",
    "postprocess.cli",
    "hpc.benchmarks.cli",
)

#: Exit status of a command whose stdout was closed by the reader (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141

#: Packages whose exceptions are messages for people (others are internal errors).
_OURS = ("studies", "hpc", "meshes", "fem", "postprocess")

#: What a person can do about an OSError, by errno.
_OS_HINTS = {
    errno.ENOSPC: "free space on that disk, or write elsewhere (--results/--out)",
    errno.EDQUOT: "free space in your quota, or write elsewhere (--results/--out)",
    errno.EACCES: "a path you may read/write (check its permissions, or use --results/--out)",
    errno.EPERM: "a path you may read/write (check its permissions, or use --results/--out)",
    errno.EROFS: "a folder on a writable file system (--results/--out)",
    errno.ENOENT: "an existing file",
    errno.ENOTDIR: "a path whose parents are folders",
    errno.EISDIR: "a file, not a folder",
}


class UserInputError(ValueError):
    """Bad input typed by a person, with where it came from.

    Printed as ``<path>[:<line>]: <what>; allowed: <allowed>``.
    """

    def __init__(self, what: str, *, path: str | os.PathLike | None = None,
                 line: int | None = None, allowed: str | None = None) -> None:
        self.what, self.path, self.line, self.allowed = what, path, line, allowed
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(f"{where}{what}" + (f"; allowed: {allowed}" if allowed else ""))


def read_toml_file(path: str | os.PathLike, *, option: str) -> dict:
    """The TOML file ``path`` given with ``option`` as a dict.

    Raises:
        UserInputError: naming the file (and the line of a syntax error) when it is not
            UTF-8 TOML; OSError (with the file name) when it cannot be read.
    """
    import re
    import tomllib

    data = open(path, "rb").read()  # noqa: SIM115  (OSError keeps the file name)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise UserInputError(f"{option}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset "
                             f"{err.start})", path=path, line=data[: err.start].count(b"\n") + 1,
                             allowed="a TOML file saved as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"at line (\d+)", str(err))
        raise UserInputError(f"{option}: invalid TOML: {err}", path=path,
                             line=int(m.group(1)) if m else None) from None


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors in the one-line form (and on rank 0 only)."""

    def error(self, message: str):
        if _rank() == 0:
            print(f"{self.prog}: error: {message}; see '{self.prog} --help'", file=sys.stderr)
        sys.exit(2)


def version_text() -> str:
    """``nre <version> (git <commit>[, uncommitted changes])``, or ``commit unknown``."""
    from studies.provenance import code_version, package_version

    code = code_version()
    if code.get("git_commit"):
        commit = f"git {code['git_commit']}" + (", uncommitted changes" if code.get("git_dirty")
                                                else "")
    else:
        commit = "git commit unknown: not a git checkout"
    return f"nre {package_version()} ({commit})"


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nre",
        description="Needle re-entry study toolkit: meshes, solvers, sweeps, Slurm and reports.",
        epilog="Errors: one line each on stderr, exit status 2; --debug (anywhere on the line) "
        "adds the traceback.",
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="print the version and the git commit, then exit")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an error (may also follow the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _rank() -> int:
    """This process's MPI rank: from mpi4py when it is initialised, else from the launcher's
    environment (so a usage error needs no MPI), else 0."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        return mpi.COMM_WORLD.rank
    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def error_lines(err: BaseException) -> list[str]:
    """The error as one-line messages ``<file>[:<line>]: <what>; <allowed>`` (several for a
    study file with several problems)."""
    from studies.schema import StudyError

    if isinstance(err, StudyError):
        out = []
        for issue in err.issues:
            where = f"{err.path}:{issue.line}" if issue.line else err.path
            key = "" if issue.key.startswith("(") else f"key '{issue.key}': "
            out.append(f"{where}: {key}{_one_line(issue.message)}")
        return out
    if isinstance(err, OSError) and err.strerror:
        paths = [str(p) for p in (err.filename, err.filename2) if p is not None]
        where = " -> ".join(paths) + ": " if paths else ""
        hint = _OS_HINTS.get(err.errno)
        return [f"{where}{err.strerror}" + (f"; allowed: {hint}" if hint else "")]
    if isinstance(err, ValueError | OSError) or type(err).__module__.split(".")[0] in _OURS:
        return [_one_line(err) or type(err).__name__]
    return [f"{type(err).__name__}: {_one_line(err)} (an internal error of nre; --debug shows "
            "the traceback)"]


def _quiet_stdout() -> None:
    # The reader is gone: point stdout at /dev/null so that the interpreter's final flush
    # does not raise BrokenPipeError again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _command(args: argparse.Namespace) -> str:
    words = [args.command] + [getattr(args, k) for k in ("study_command", "slurm_command",
                                                          "kind") if getattr(args, k, None)]
    return " ".join(words)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]
    argv = [a for a in argv[:end] if a != "--debug"] + argv[end:]
    args = build_parser().parse_args(argv)
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001  (every error ends as one line, or a traceback)
        rank = _rank()
        if debug:  # every rank: the error may be one rank's own
            print(f"[rank {rank}] " + traceback.format_exc(), file=sys.stderr, end="")
        if rank == 0:
            for line in error_lines(err):
                print(f"nre {_command(args)}: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
