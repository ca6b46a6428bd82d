"""`cnnkit data list`: every bundled set, with its target and sizes."""

from cnnkit.cli.main import main
from cnnkit.data import dataset_info, list_datasets


def test_data_list_names_every_bundled_set_with_its_sizes(capsys):
    assert main(["data", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "target", "train", "test", "input"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert list(rows) == list_datasets()
    info = dataset_info("scenes_segment")
    assert rows["scenes_segment"] == ["segmentation", str(info.sizes["train"]),
                                      str(info.sizes["test"]), "1x48x48"]
