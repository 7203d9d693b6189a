"""make bench: python -m tests.bench [NAME ...]

Runs the main() of every tests/bench/bench_<NAME>.py in turn (all of them,
found by name, when no NAME is given). Each prints its own figures; the
exit status is 1 when any benchmark failed a step, whatever the times.
"""

import argparse
import glob
import importlib
import os
import sys
import time
import traceback

from . import BenchError

HERE = os.path.dirname(os.path.abspath(__file__))


def available():
    return sorted(os.path.basename(path)[len("bench_"):-len(".py")]
                  for path in glob.glob(os.path.join(HERE, "bench_*.py")))


def main(argv=None):
    names = available()
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="benchmarks to run (default: all of them: %s)" % (", ".join(names) or "none found"))
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error("no benchmark named %s (there are: %s)" % (", ".join(unknown), ", ".join(names)))
    chosen = args.names or names
    if not chosen:
        print("no benchmarks found in %s (bench_*.py)" % HERE, file=sys.stderr)
        return 1

    failed = []
    for name in chosen:
        print("== bench %s" % name, flush=True)
        start = time.monotonic()
        try:
            module = importlib.import_module("%s.bench_%s" % (__package__, name))
            rc = module.main()
        except BenchError as exc:
            print("bench %s FAILED: %s" % (name, exc), file=sys.stderr, flush=True)
            failed.append(name)
            continue
        except Exception:  # a broken benchmark must not stop the others, nor pass quietly
            traceback.print_exc()
            print("bench %s FAILED (see the traceback above)" % name, file=sys.stderr, flush=True)
            failed.append(name)
            continue
        if rc not in (None, 0):
            print("bench %s FAILED (main() returned %r)" % (name, rc), file=sys.stderr, flush=True)
            failed.append(name)
            continue
        print("== bench %s done in %.0f s" % (name, time.monotonic() - start), flush=True)

    if failed:
        print("benchmarks failed: %s" % ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
