"""maelm-fairseq: MAE-LM and 3ML pretraining as a fairseq plugin (`--user-dir maelm_fairseq`).

The supported install is `bash install.sh` (see README): fairseq 0.12.2's own metadata pins hydra-core<1.1 and
omegaconf<2.1, which do not import on Python 3.11, so install.sh installs fairseq with --no-deps, pins working
versions and patches it. The requirements below document what the package needs at run time.
"""
from setuptools import find_packages, setup

setup(
    name="maelm-fairseq",
    version="0.1.0",
    description="MAE-LM / 3ML masked-language-model pretraining as a fairseq extension",
    packages=find_packages(include=["maelm_fairseq", "maelm_fairseq.*", "preprocess", "preprocess.*"]),
    python_requires=">=3.9",
    install_requires=[
        "fairseq==0.12.2",
        "torch>=2.0",
        "numpy",
        "hydra-core>=1.3.2",
        "omegaconf>=2.3.0",
        "sentencepiece>=0.2",
        "sacremoses",
        "fastBPE",
        "tqdm",
        "tensorboardX>=2.6,<3",  # the writer behind fairseq's --tensorboard-logdir
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3"],
        "hf": ["transformers>=5"],  # the exported modeling code (maelm-export-hf) is written for transformers 5
    },
    entry_points={
        "console_scripts": [
            "maelm-train = maelm_fairseq.cli:train",
            "maelm-hydra-train = maelm_fairseq.cli:hydra_train",
            "maelm-rank = maelm_fairseq.analysis.rank_cli:main",
            "maelm-export-hf = maelm_fairseq.export.hf_cli:main",
            "maelm-import-fork = maelm_fairseq.import_fork:main",
            "maelm-squad-predict = maelm_fairseq.squad.predict_cli:main",
            "maelm-glue-predict = maelm_fairseq.glue.predict_cli:main",
            "maelm-prepare-labelled = preprocess.labelled.prepare_labelled:main",
        ],
    },
)
