"""maelm_fairseq.evaluation.training_log reads the numbers the demo and the reproduction report from fairseq logs."""
import math

from maelm_fairseq.evaluation import training_log

LOG = """\
2026-12-02 02:20:39 | INFO | train_inner | epoch 001:     50 / 1847 loss=12.269, accuracy=2.53, enc_erank=105.41, wps=5706.4, wpb=3160.7, num_updates=50, lr=0.000694444
2026-12-02 02:20:40 | INFO | train_inner | epoch 001:    100 / 1847 loss=10.5, accuracy=4.1, enc_erank=99.2, wps=5800, wpb=3000, num_updates=100, lr=1e-05
2026-12-02 03:40:09 | INFO | valid | epoch 001 | valid on 'valid' subset | loss 1 | nll_loss 0.035 | accuracy 50 | f1 66.67 | num_updates 63
2026-12-02 03:40:34 | INFO | valid | epoch 002 | valid on 'valid' subset | loss 0.9 | nll_loss 0.03 | accuracy 52.7 | num_updates 126 | best_accuracy 52.7
2026-12-02 03:40:59 | INFO | valid | epoch 003 | valid on 'valid' subset | loss 0.95 | nll_loss 0.02 | accuracy 51.1 | num_updates 189 | best_accuracy 52.7
2026-12-02 03:41:00 | INFO | fairseq_cli.train | done training in 75.3 seconds
"""


def test_valid_curve_reads_loss_not_nll_loss():
    assert training_log.valid_curve(LOG, "loss") == [(63, 1.0), (126, 0.9), (189, 0.95)]


def test_best_valid_takes_the_best_epoch_and_ignores_best_accuracy_field():
    assert training_log.best_valid(LOG, "accuracy") == 52.7
    assert training_log.valid_curve(LOG, "accuracy") == [(63, 50.0), (126, 52.7), (189, 51.1)]


def test_train_curve_reads_train_inner_lines_only():
    assert training_log.train_curve(LOG, "loss") == [(50, 12.269), (100, 10.5)]
    assert training_log.train_curve(LOG, "lr") == [(50, 0.000694444), (100, 1e-05)]


def test_missing_values_give_none():
    assert training_log.best_valid("no validation here", "accuracy") is None
    assert training_log.best_valid("| valid on 'valid' subset | loss 0.6 | accuracy 61.5 | f1 1", "accuracy") == 61.5
    assert training_log.wall_seconds(LOG) == 75.3
    assert training_log.wall_seconds("crashed") is None


def test_line_values_of_each_kind_of_line():
    train, _, _, valid, _, done = LOG.splitlines()
    assert training_log.line_values(train) == {"loss": 12.269, "accuracy": 2.53, "enc_erank": 105.41, "wps": 5706.4,
                                               "wpb": 3160.7, "num_updates": 50, "lr": 0.000694444}
    assert training_log.line_values(valid) == {"loss": 0.9, "nll_loss": 0.03, "accuracy": 52.7, "num_updates": 126,
                                               "best_accuracy": 52.7}  # not the epoch before the subset
    assert training_log.line_values(done) == {}


def test_nan_is_kept_in_its_row_and_left_out_of_curves_and_the_best():
    log = "| valid | epoch 001 | valid on 'valid' subset | loss nan | mcc nan | accuracy 50 | num_updates 5\n"
    row = training_log.valid_rows(log)[0]
    assert math.isnan(row["loss"]) and math.isnan(row["mcc"]) and row["accuracy"] == 50
    assert training_log.valid_curve(log, "loss") == [] and training_log.valid_curve(log, "accuracy") == [(5, 50.0)]
    assert training_log.best_valid(log, "mcc") is None
