from pathlib import Path

import pytest
from hub.config import load_config, parse_config
from hub.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
channels:
  woocommerce: {platform: woocommerce, site_url: "https://shop.example.com"}
  eu-shop: {platform: shopify, shop_domain: eu-shop.myshopify.com}
  us-shop: {platform: shopify, shop_domain: us-shop.myshopify.com}
gateways:
  stripe: {channel: woocommerce}
locations:
  - {id: wh-east, country: us}
low_stock_threshold: 3
"""


def test_the_shipped_local_config_is_valid():
    config = parse_config((ROOT / "config" / "local.yaml").read_text())
    assert config.location_ids()[0] == "wh-east"


def test_a_full_document_parses():
    config = parse_config(GOOD)
    assert config.low_stock_threshold == 3
    assert config.locations[0].country == "US"
    assert config.gateways["stripe"].channel == "woocommerce"


def test_channel_names_follow_the_configuration():
    config = parse_config(GOOD)
    assert config.channel_for("shopify", "us-shop.myshopify.com") == "us-shop"
    assert config.channel_for("shopify", "other.myshopify.com") == "eu-shop"
    assert config.channel_for("magento") == "magento"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "colour: blue\n", "unknown key 'colour'"),
        (GOOD.replace("site_url", "site_ulr"), "unknown key 'channels.woocommerce.site_ulr'"),
        (GOOD.replace("platform: woocommerce", "platform: etsy"), "'channels.woocommerce.platform'"),
        ("channels: {}\n", "missing key 'locations'"),
        (GOOD.replace("stripe:", "venmo:"), "gateways.venmo"),
        ("- a\n- b\n", "must be a mapping"),
        ("locations: [\n", "not valid YAML"),
        ("locations:\n  - {id: a, country: US}\n  - {id: a, country: DE}\n", "unique: a"),
    ],
)
def test_bad_documents_name_what_is_wrong(text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(text)


def test_load_config_reads_the_file_named_by_hub_config(tmp_path, monkeypatch):
    path = tmp_path / "hub.yaml"
    path.write_text("locations: [{id: only, country: GB}]\n")
    monkeypatch.setenv("HUB_CONFIG", str(path))
    assert load_config(refresh=True).location_ids() == ["only"]
