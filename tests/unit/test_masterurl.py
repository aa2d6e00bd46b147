from __future__ import annotations

import pytest

from minispark.masterurl import (
    LocalCluster,
    MasterUrlError,
    format_master_url,
    parse_local_cluster,
    parse_master_url,
)


def test_every_master_is_listed_in_order() -> None:
    url = "minispark://h1:7077,h2:7078,h3"
    assert parse_master_url(url) == [("h1", 7077), ("h2", 7078), ("h3", 7077)]
    assert parse_master_url("spark://h:1") == [("h", 1)]
    assert format_master_url([("a", 1), ("b", 2)]) == "minispark://a:1,b:2"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "h:7077",
        "yarn",
        "minispark://",
        "minispark://h:x",
        "minispark://h:0",
        "minispark://h:70000",
        "minispark://h:1,h:1",
    ],
)
def test_bad_urls_name_the_accepted_forms(url: str) -> None:
    with pytest.raises(MasterUrlError, match=r"minispark://|twice"):
        parse_master_url(url)


def test_local_cluster() -> None:
    assert parse_local_cluster("local-cluster[2, 1, 512]") == LocalCluster(2, 1, 512)
    assert parse_local_cluster("minispark://h:1") is None
    with pytest.raises(MasterUrlError, match="at least 1"):
        parse_local_cluster("local-cluster[0,1,512]")
