"""The hub's configuration: a typed, validated YAML document.

Locally it is the file at $HUB_CONFIG; in AWS it is the SSM parameter named by
$HUB_CONFIG_PARAMETER. It is read when first used and cached (`loading`). One module per section:
`channels` (channels, gateways, locations, stock), `carrier`, `analytics`, `crm`, `marketing` (with `social`), `audiences`;
`document` is the whole (`HubConfig`) and the checks that span sections. What the hub knows of each
platform is one table, `hub.domain.platforms`.
"""

from hub.config.analytics import AnalyticsConfig, Ga4Config, Ga4TrafficConfig, MetaConfig, TrafficConfig
from hub.config.audiences import AudiencesConfig
from hub.config.carrier import CarrierAddress, CarrierConfig, ParcelConfig, ServiceLevel
from hub.config.catalog import CatalogChannelConfig, CatalogConfig, CatalogPriceConfig
from hub.config.channels import ChannelConfig, GatewayConfig, ReconcileConfig, SkuIds, StockConfig
from hub.config.crm import CrmConfig, SalesforceCrmConfig
from hub.config.document import HubConfig
from hub.config.loading import forget_config, load_config, parse_config
from hub.config.marketing import FrequencyCap, KlaviyoConfig, MailchimpConfig, MarketingConfig, MarketingRules
from hub.config.social import SocialConfig
from hub.errors import ConfigError  # what parse_config and load_config raise: the local stack catches it here

__all__ = [
    "AnalyticsConfig",
    "AudiencesConfig",
    "CarrierAddress",
    "CarrierConfig",
    "CatalogChannelConfig",
    "CatalogConfig",
    "CatalogPriceConfig",
    "ChannelConfig",
    "ConfigError",
    "CrmConfig",
    "FrequencyCap",
    "Ga4Config",
    "Ga4TrafficConfig",
    "GatewayConfig",
    "HubConfig",
    "KlaviyoConfig",
    "MailchimpConfig",
    "MarketingConfig",
    "MarketingRules",
    "MetaConfig",
    "ParcelConfig",
    "ReconcileConfig",
    "SalesforceCrmConfig",
    "ServiceLevel",
    "SkuIds",
    "SocialConfig",
    "StockConfig",
    "TrafficConfig",
    "forget_config",
    "load_config",
    "parse_config",
]
