"""Our console scripts give their output the same way (`--out`) and take `--name a b` where help shows NAME ..."""
from maelm_fairseq.analysis.rank_cli import build_parser as rank_parser
from maelm_fairseq.export.hf_cli import build_parser as export_parser
from maelm_fairseq.glue.predict_cli import build_parser as glue_predict_parser
from maelm_fairseq.squad.predict_cli import build_parser as squad_predict_parser


def test_output_is_given_with_out_in_every_script():
    rank = rank_parser().parse_args(["c.pt", "--data", "bin", "--out", "results/rank"])
    export = export_parser().parse_args(["c.pt", "--out", "hf", "--no-tokenizer"])
    assert rank.out == "results/rank" and export.out == "hf"
    assert "--out PREFIX" in rank_parser().format_usage() and "--out DIR" in export_parser().format_usage()
    for predict_parser in (squad_predict_parser, glue_predict_parser):
        assert predict_parser().parse_args(["c.pt", "--data", "bin", "--out", "sub"]).out == "sub"
        assert "--out DIR" in predict_parser().format_usage()


def test_rank_names_as_one_list_or_repeated():
    usage = rank_parser().format_usage()
    assert "--name NAME [NAME ...]" in usage
    listed = rank_parser().parse_args(["a.pt", "b.pt", "--data", "bin", "--out", "r", "--name", "a", "b"])
    repeated = rank_parser().parse_args(["a.pt", "b.pt", "--data", "bin", "--out", "r", "--name", "a", "--name", "b"])
    assert listed.name == repeated.name == ["a", "b"] and listed.checkpoints == ["a.pt", "b.pt"]
