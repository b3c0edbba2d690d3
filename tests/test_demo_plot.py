"""The demo's pretraining curves (examples/tiny/plot_curves.py) drawn from a hand-written fairseq-train log."""
import os
import runpy
import subprocess
import sys

from helpers import REPO

SCRIPT = os.path.join(REPO, "examples", "tiny", "plot_curves.py")
LOG = "".join(
    [f"2026-01-01 | INFO | train_inner | epoch 001:  {u:4d} / 151 loss={loss}, accuracy=4, enc_tok_frac=0.85, "
     f"enc_erank=80.2, ppl=5, wps=9000.5, ups=3, wpb=3000, bsz=32, num_updates={u}, lr=0.001, gnorm=1.2\n"
     for u, loss in ((50, 10.9), (100, 9.6), (150, 8.7), (200, 8.1))]
    + [f"2026-01-01 | INFO | valid | epoch 001 | valid on 'valid' subset | loss {loss} | ppl 400 | accuracy 8 | "
       f"enc_erank 77 | wps 30000 | wpb 2900 | bsz 31 | num_updates {u} | best_loss {loss}\n"
       for u, loss in ((100, 9.4), (200, 7.9))]
    + ["2026-01-01 | INFO | fairseq_cli.train | done training in 99.0 seconds\n"])


def test_pretraining_loss_plot_draws_train_valid_and_unigram(tmp_path):
    import matplotlib.image

    plot = runpy.run_path(SCRIPT)["plot_pretraining_loss"]
    drawn = plot(LOG, 9.2, tmp_path / "loss.png")
    assert drawn["train (every log interval)"] == ([50, 100, 150, 200], [10.9, 9.6, 8.7, 8.1])
    assert drawn["valid"] == ([100, 200], [9.4, 7.9])
    assert drawn["unigram model of the same data (9.20)"] == ([50, 200], [9.2, 9.2])
    image = matplotlib.image.imread(tmp_path / "loss.png")
    assert image.shape[:2] == (480, 780) and image.std() > 0.05  # 6.5 x 4 inches at 120 dpi, not blank


def test_cli_writes_the_png_and_refuses_a_log_without_loss(tmp_path):
    (tmp_path / "pretrain.log").write_text(LOG)
    out = subprocess.run([sys.executable, SCRIPT, tmp_path / "pretrain.log", "--unigram", "9.2", "--output",
                          tmp_path / "loss.png"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"loss curves: {tmp_path / 'loss.png'}"
    assert (tmp_path / "loss.png").read_bytes().startswith(b"\x89PNG")
    (tmp_path / "empty.log").write_text("Traceback (most recent call last):\n")
    proc = subprocess.run([sys.executable, SCRIPT, tmp_path / "empty.log", "--unigram", "9.2", "--output",
                           tmp_path / "none.png"], capture_output=True, text=True)
    assert proc.returncode == 2 and not (tmp_path / "none.png").exists()
    assert proc.stderr.strip() == f"error: {tmp_path / 'empty.log'}: no train_inner or valid loss in the log " \
                                  "(did fairseq-train run with --log-format simple?)"

