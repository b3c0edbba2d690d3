"""Build an output directory beside its final place and move it there only when it is complete, so a rerun
replaces the old one whole and a failed run leaves the old one as it was (fairseq-preprocess also refuses to write
a label dict.txt over an existing one, which a rerun into the same directory would hit)."""
import shutil
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def built_beside(final_dir):
    """Yield an empty directory next to `final_dir`; on success it becomes `final_dir`, on an exception it is
    removed and `final_dir` is untouched."""
    final_dir = Path(final_dir)
    partial = final_dir.with_name(f".{final_dir.name}.partial")
    old = final_dir.with_name(f".{final_dir.name}.old")
    for stale in (partial, old):  # left by a run that was killed
        shutil.rmtree(stale, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    # Renames only between the two states, so the final name is missing for an instant, never half-written.
    if final_dir.exists():
        final_dir.rename(old)
    partial.rename(final_dir)
    shutil.rmtree(old, ignore_errors=True)
