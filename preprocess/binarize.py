"""Run fairseq-preprocess (in this process, so fairseq is imported once) to write .bin/.idx files."""
from fairseq import options
from fairseq_cli import preprocess as fairseq_preprocess

from maelm_fairseq import fairseq_fixes


def run_fairseq_preprocess(destdir, trainpref, validprefs, workers, srcdict=None, testprefs=()):
    """Binarize `trainpref`, each of `validprefs` (valid, valid1, ...) and of `testprefs` (test, test1, ...) with
    --only-source.

    Without `srcdict` fairseq builds the dictionary from the training file (used for GLUE label files).
    """
    argv = ["--only-source", "--trainpref", str(trainpref), "--destdir", str(destdir), "--workers", str(workers)]
    if validprefs:
        argv += ["--validpref", ",".join(str(prefix) for prefix in validprefs)]
    if testprefs:
        argv += ["--testpref", ",".join(str(prefix) for prefix in testprefs)]
    if srcdict is not None:
        argv += ["--srcdict", str(srcdict)]
    fairseq_fixes.install()  # lets --srcdict be a MAE-LM repository dict.txt (no counts)
    args = options.get_preprocessing_parser().parse_args(argv)
    fairseq_preprocess.main(args)
