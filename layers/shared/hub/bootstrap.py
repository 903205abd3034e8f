"""The composition root: every client, adapter and service a function uses, built once per sandbox.

Each function's module holds one `Sandbox`; nothing is built when it is made. A piece is built the
first time the function asks for it, then kept for the life of the sandbox (Lambda reuses it across
invocations), and built from the pieces below it: one DynamoDB client, one publisher, one payload
store, one secrets provider. A cold start pays only for what its function uses: every adapter and
service module is imported by the property that builds it.

Tests hand in what they want instead (a moto-backed client wrapped to fail, a fake transport for an
HTTP API, a configuration loader) as arguments; anything not handed in is built as in AWS:

    sandbox = Sandbox(dynamodb=StopsAfter(boto3.client("dynamodb"), transactions=2))
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from hub.adapters.backoff import SqsBackoff
    from hub.adapters.customers import DynamoCustomerStore, DynamoProfileStore
    from hub.adapters.idempotency import IdempotentDeliveryLog
    from hub.adapters.marketing_store import DynamoMarketingStore
    from hub.config import CarrierConfig, HubConfig
    from hub.intake import IntakeService
    from hub.intake.sources import SourceRegistry
    from hub.ports import (
        BigCommerceApi,
        CarrierPort,
        CatalogPushLog,
        EventPublisher,
        MagentoProducts,
        PayloadStore,
        ProductRecords,
        ResourceCompleter,
        StockLedger,
        WooCommerceVariations,
    )
    from hub.secrets import SecretsProvider
    from hub.services.audiences import AudienceSync
    from hub.services.catalog import CatalogSync
    from hub.services.channel_sync import ChannelSync
    from hub.services.crm import CrmSync
    from hub.services.customer_lookup import CustomerLookup
    from hub.services.customers import CustomerService
    from hub.services.deadletters import DeadLetters
    from hub.services.fulfilment import FulfilmentService
    from hub.services.lineage import LineageReader, LineageRecorder
    from hub.services.marketing import MarketingService
    from hub.services.order_search import OrderSearch
    from hub.services.payments import PaymentService
    from hub.services.reconciliation import Reconciler
    from hub.services.reporting import ReportingService
    from hub.services.resource_fetch import ResourceFetchService
    from hub.services.social import SocialService
    from hub.services.stock import StockService
    from hub.services.stock_history import StockHistory
    from hub.services.stock_list import StockList
    from hub.services.traffic import TrafficImport
    from hub.services.webhook_activity import WebhookActivity
    from hub.settings import Settings

__all__ = ["Sandbox"]


class Sandbox:
    """What one Lambda sandbox builds, on first use; every argument replaces the piece it names."""

    def __init__(
        self,
        *,
        dynamodb: Any = None,
        events: Any = None,
        sqs: Any = None,
        secrets: SecretsProvider | None = None,
        config: Callable[[], HubConfig] | None = None,
        bigcommerce: BigCommerceApi | None = None,
        reconcile_lookback: timedelta | None = None,
        http_transport: Any = None,
    ) -> None:
        self._clients = {
            name: client
            for name, client in {"dynamodb": dynamodb, "events": events, "sqs": sqs}.items()
            if client is not None
        }
        self._secrets = secrets
        self._config = config
        self._bigcommerce = bigcommerce
        self._reconcile_lookback = reconcile_lookback
        self._http_transport = http_transport  # an httpx transport for outbound APIs (tests); None: the network

    def _client(self, service: str) -> Any:
        if service in self._clients:
            return self._clients[service]
        import boto3

        return boto3.client(service)

    # ------------------------------------------------------------------ the environment and clients
    @cached_property
    def settings(self) -> Settings:
        from hub.settings import settings

        return settings()

    @cached_property
    def config(self) -> Callable[[], HubConfig]:
        """The configuration document's loader (re-read every few minutes, hub.config)."""
        if self._config is not None:
            return self._config
        from hub.config import load_config

        return load_config

    @cached_property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @cached_property
    def sqs(self) -> Any:
        return self._client("sqs")

    @cached_property
    def secrets(self) -> SecretsProvider:
        if self._secrets is not None:
            return self._secrets
        from hub.secrets import SecretsProvider

        return SecretsProvider()

    @cached_property
    def payloads(self) -> PayloadStore:
        """Claim-checked events' bodies; the S3 client is built only when one is read or written."""
        from hub.adapters.s3 import S3PayloadStore

        return S3PayloadStore(lambda: self._client("s3"), self.settings.payload_bucket or "")

    @cached_property
    def publisher(self) -> EventPublisher:
        """The hub bus, with the payload bucket for large events and personal fields sealed when the
        template names a KMS key for data keys (HUB_DATA_KEY_ID)."""
        from hub.adapters.eventbridge import EventBridgePublisher
        from hub.events import personal_paths
        from hub.shredding import Sealer, data_keys

        env = self.settings
        keys = data_keys() if env.data_key_id else None
        sealer = Sealer(keys, personal_paths) if keys is not None else None
        payloads = self.payloads if env.payload_bucket else None
        return EventBridgePublisher(self._client("events"), env.event_bus, payloads, sealer)

    @cached_property
    def delivery_log(self) -> IdempotentDeliveryLog:
        """Publish-once by delivery (Powertools Idempotency); intake, resource_fetch and the reconciler
        share it, so a delivery is published once whichever of them sees it first."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from hub.adapters.idempotency import IdempotentDeliveryLog

        persistence = DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table)
        return IdempotentDeliveryLog(persistence, self.publisher)

    def register_context(self, context: Any) -> None:
        """The invocation's context, for the delivery log's in-progress expiry (call once per invocation)."""
        self.delivery_log.config.register_lambda_context(context)

    # ------------------------------------------------------------------ tables
    @cached_property
    def ledger(self) -> StockLedger:
        from hub.adapters.dynamodb import DynamoLedger

        return DynamoLedger(self.dynamodb, self.settings.table)

    @cached_property
    def lineage(self) -> LineageRecorder:
        from hub.adapters.lineage import DynamoLineageLog
        from hub.services.lineage import LineageRecorder

        return LineageRecorder(DynamoLineageLog(self.dynamodb, self.settings.table))

    @cached_property
    def order_search(self) -> OrderSearch:
        """Orders by day (the orders-by-day index) or by customer (their profile), a page at a time."""
        from hub.adapters.order_index import DynamoOrderIndex
        from hub.services.order_search import OrderSearch

        return OrderSearch(DynamoOrderIndex(self.dynamodb, self.settings.table), self.profiles)

    @cached_property
    def customer_store(self) -> DynamoCustomerStore:
        """Customers keyed with the erasure key's salt, so reports and marketing share one pseudonym."""
        from hub.adapters.customers import DynamoCustomerStore

        secrets = self.secrets
        return DynamoCustomerStore(self.dynamodb, self.settings.table, lambda: secrets.get("CUSTOMER_KEY_SALT"))

    @cached_property
    def profiles(self) -> DynamoProfileStore:
        """Customer profiles, read only: what crm_upsert derives, as the admin API serves it."""
        from hub.adapters.customers import DynamoProfileStore

        return DynamoProfileStore(self.dynamodb, self.settings.table)

    @cached_property
    def customer_lookup(self) -> CustomerLookup:
        """A customer's profile and the marketing messages sent to them (admin API, console)."""
        from hub.services.customer_lookup import CustomerLookup

        return CustomerLookup(self.profiles, self.marketing_store)

    @cached_property
    def marketing_store(self) -> DynamoMarketingStore:
        from hub.adapters.marketing_store import DynamoMarketingStore

        return DynamoMarketingStore(self.dynamodb, self.settings.table)

    # ------------------------------------------------------------------ services
    @cached_property
    def stock(self) -> StockService:
        from hub.adapters.stock_tables import DynamoCatalog, DynamoSyncLog
        from hub.services.stock import StockService

        table = self.settings.table
        return StockService(
            self.ledger,
            self.publisher,
            self.config,
            catalog=DynamoCatalog(self.dynamodb, table),
            sync_log=DynamoSyncLog(self.dynamodb, table),
            lineage=self.lineage,
        )

    @cached_property
    def admin_stock(self) -> StockService:
        """Levels set by a person through the admin API: no catalog or sync log is read there."""
        from hub.services.stock import StockService

        return StockService(self.ledger, self.publisher, self.config)

    def dead_letters(self) -> DeadLetters:
        """The stack's dead-letter queues as they are now (read afresh at every call).

        HUB_DEAD_LETTER_QUEUES is "LogicalId=url,..." (set by template.yaml): every consumer queue
        and dead-letter queue. The local stack (AWS_SAM_LOCAL) has no SQS move tasks, so there a
        whole queue is redriven message by message, as `commerce-hub dlq` does locally.
        """
        import os

        from hub.adapters.failures import DynamoFailureLog
        from hub.adapters.sqs_queues import SqsQueues
        from hub.services.deadletters import DeadLetters

        pairs = (item.split("=", 1) for item in os.environ.get("HUB_DEAD_LETTER_QUEUES", "").split(",") if "=" in item)
        urls = {name.strip(): url.strip() for name, url in pairs}
        sqs = SqsQueues(self.sqs)
        return DeadLetters(
            sqs,
            DynamoFailureLog(self.dynamodb, self.settings.table),
            DeadLetters.discover(sqs, urls),
            move_tasks=os.environ.get("AWS_SAM_LOCAL") != "true",
        )

    @cached_property
    def stock_list(self) -> StockList:
        from hub.adapters.dynamodb import DynamoLedger
        from hub.services.stock_list import StockList

        ledger = DynamoLedger(self.dynamodb, self.settings.table)
        return StockList(ledger, ledger, self.config)

    @cached_property
    def payments(self) -> PaymentService:
        from hub.services.payments import PaymentService

        return PaymentService(self.ledger, self.publisher, self.config, lineage=self.lineage)

    @cached_property
    def fulfilment(self) -> FulfilmentService:
        """Routing, labels and write-backs: the carriers and storefronts the configuration names."""
        from hub.adapters.carriers import carrier_for, shipment_request
        from hub.adapters.shipments import DynamoShipmentStore
        from hub.adapters.storefronts import StorefrontWriters
        from hub.services.fulfilment import FulfilmentService

        secrets = self.secrets

        def carrier(config: CarrierConfig) -> CarrierPort:
            # The port takes the shipment request as an opaque object (the service only hands on what
            # `shipment_request` built); the carriers read it as the ShipmentRequest that function
            # builds. Pairing the two is this root's job, which mypy cannot see through `object`.
            return cast("CarrierPort", carrier_for(config, secrets))

        return FulfilmentService(
            self.ledger,
            self.publisher,
            self.config,
            DynamoShipmentStore(self.dynamodb, self.settings.table),
            carrier=carrier,
            storefronts=lambda config: StorefrontWriters(config, secrets),
            shipment_request=shipment_request,
            lineage=self.lineage,
        )

    @cached_property
    def manual_fulfilment(self) -> FulfilmentService:
        """Only manual shipments go through here: no carrier or storefront is ever called from the API."""
        from hub.adapters.shipments import DynamoShipmentStore
        from hub.services.fulfilment import FulfilmentService

        def no_outbound(_config: object) -> Any:
            raise RuntimeError("the admin API makes no carrier or storefront calls")

        return FulfilmentService(
            self.ledger,
            self.publisher,
            self.config,
            DynamoShipmentStore(self.dynamodb, self.settings.table),
            carrier=no_outbound,
            storefronts=no_outbound,
            shipment_request=lambda *_: None,
        )

    @cached_property
    def lineage_reader(self) -> LineageReader:
        from hub.adapters.lineage import DynamoLineageLog
        from hub.services.lineage import LineageReader

        return LineageReader(self.ledger, DynamoLineageLog(self.dynamodb, self.settings.table))

    @cached_property
    def reports(self) -> ReportingService:
        """The daily report, read from its own items; nothing is forwarded to analytics."""
        from hub.adapters.report_store import DynamoReportStore
        from hub.adapters.traffic_store import DynamoTrafficStore
        from hub.services.reporting import ReportingService

        table = self.settings.table
        return ReportingService(
            DynamoReportStore(self.dynamodb, table), self.config, traffic=DynamoTrafficStore(self.dynamodb, table)
        )

    @cached_property
    def reporting(self) -> ReportingService:
        """The report's counters, and purchases and refunds forwarded to the analytics sinks."""
        from hub.adapters.analytics import analytics_sinks
        from hub.adapters.report_store import DynamoReportStore
        from hub.services.analytics import AnalyticsForwarder
        from hub.services.reporting import ReportingService

        store = DynamoReportStore(self.dynamodb, self.settings.table)
        secrets, config = self.secrets, self.config
        built: list[tuple[Any, list[Any]]] = []

        def configured_sinks() -> list[Any]:
            # Rebuilt only when the analytics section changes (the document is re-read every few minutes).
            analytics = config().analytics
            if not built or built[0][0] != analytics:
                built[:] = [(analytics, analytics_sinks(analytics, secrets))]
            return built[0][1]

        forwarder = AnalyticsForwarder(store, configured_sinks, self.lineage)
        return ReportingService(store, config, forwarder, salt=self.customer_store.salt)

    @cached_property
    def crm(self) -> CrmSync:
        from hub.adapters.contacts import DynamoContactRegistry
        from hub.adapters.crm import crm_client
        from hub.services.crm import CrmSync

        secrets = self.secrets
        return CrmSync(
            self.customer_store,
            lambda config: crm_client(config, secrets),
            self.config,
            registry=DynamoContactRegistry(self.dynamodb, self.settings.table),
            lineage=self.lineage,
        )

    @cached_property
    def customers(self) -> CustomerService:
        from hub.adapters.audience_store import DynamoAudienceRecords
        from hub.adapters.order_privacy import DynamoOrderPrivacy
        from hub.services.customers import CustomerService
        from hub.shredding import data_keys

        env = self.settings
        return CustomerService(
            self.customer_store,
            DynamoOrderPrivacy(self.dynamodb, env.table),
            self.publisher,
            self.config,
            exports=self.payloads if env.payload_bucket else None,
            contacts=self.crm.erase,
            data_keys=data_keys(),
            messages=self.marketing_store,
            audiences=DynamoAudienceRecords(self.dynamodb, env.table, None),
        )

    @cached_property
    def audiences(self) -> AudienceSync:
        """Ad audiences: profiles read, what was sent recorded, the configured vendors rebuilt only
        when the audiences section changes."""
        from hub.adapters.ad_audiences import audience_destinations
        from hub.adapters.audience_store import DynamoAudienceRecords
        from hub.config import AudiencesConfig
        from hub.services.audiences import AudienceSync
        from hub.shredding import data_keys

        secrets = self.secrets
        built: list[tuple[AudiencesConfig, Any]] = []

        def destinations(config: AudiencesConfig) -> Any:
            if not built or built[0][0] != config:
                built[:] = [(config, audience_destinations(config, secrets))]
            return built[0][1]

        records = DynamoAudienceRecords(self.dynamodb, self.settings.table, data_keys())
        return AudienceSync(self.profiles, records, destinations, self.config)

    @cached_property
    def marketing(self) -> MarketingService:
        from hub.adapters.contacts import DynamoContactRegistry
        from hub.adapters.marketing_channels import MarketingChannels
        from hub.adapters.marketing_store import SaltedCustomerKeys
        from hub.services.marketing import MarketingService
        from hub.settings import marketing_settings

        own = marketing_settings()
        channels = MarketingChannels(
            self.secrets, lambda: self._client("sesv2"), default_unsubscribe_url=own.unsubscribe_url
        )
        return MarketingService(
            store=self.marketing_store,
            schedules=self.marketing_schedules,
            orders=self.ledger,
            profiles=self.customer_store,
            keys=SaltedCustomerKeys(self.customer_store),
            publisher=self.publisher,
            config=self.config,
            senders=channels.senders,
            tracker=channels.tracker,
            unsubscribe=channels.unsubscribe,
            registry=DynamoContactRegistry(self.dynamodb, self.settings.table),
            lineage=self.lineage,
        )

    @cached_property
    def marketing_schedules(self) -> Any:
        """Marketing's one-time schedules (EventBridge Scheduler), shared by its messages and social posts."""
        from hub.adapters.scheduler import SchedulerSchedules
        from hub.settings import marketing_settings

        own = marketing_settings()
        return SchedulerSchedules(
            self._client("scheduler"),
            own.schedule_group,
            own.queue_arn,
            own.scheduler_role_arn,
            dead_letter_arn=own.schedule_dlq_arn,
        )

    @cached_property
    def social(self) -> SocialService:
        """Social posts (marketing.social), in marketing_triggers; nothing is built until one is made."""
        from hub.adapters.marketing_store.social import DynamoSocialStore
        from hub.adapters.social import SocialNetworks
        from hub.services.social import SocialService

        return SocialService(
            DynamoSocialStore(self.dynamodb, self.settings.table),
            self.marketing_schedules,
            lambda: self.product_records,  # the catalog's records, built on the first restock posted
            SocialNetworks(self.secrets),
            self.config,
        )

    @cached_property
    def channel_sync(self) -> ChannelSync:
        from hub.adapters.stock_tables import DynamoCatalog, DynamoSyncLog
        from hub.adapters.storefront_stock import StorefrontStock
        from hub.services.channel_sync import ChannelSync

        table = self.settings.table
        return ChannelSync(
            self.ledger,
            DynamoCatalog(self.dynamodb, table),
            DynamoSyncLog(self.dynamodb, table),
            StorefrontStock(self.secrets),
            self.config,
            lineage=self.lineage,
        )

    @cached_property
    def product_records(self) -> ProductRecords:
        """The hub's catalog products (docs/catalog.md)."""
        from hub.adapters.catalog_store import DynamoProductRecords

        return DynamoProductRecords(self.dynamodb, self.settings.table)

    @cached_property
    def catalog_push_log(self) -> CatalogPushLog:
        """What catalog sync pushed to each channel, and the drift it saw."""
        from hub.adapters.catalog_store import DynamoCatalogPushLog

        return DynamoCatalogPushLog(self.dynamodb, self.settings.table)

    @cached_property
    def catalog_sync(self) -> CatalogSync:
        from hub.adapters.stock_tables import DynamoCatalog
        from hub.adapters.storefront_catalog import StorefrontCatalog
        from hub.services.catalog import CatalogSync

        return CatalogSync(
            self.product_records,
            self.catalog_push_log,
            DynamoCatalog(self.dynamodb, self.settings.table),
            StorefrontCatalog(self.secrets),
            self.publisher,
            self.config,
        )

    @cached_property
    def stock_history(self) -> StockHistory:
        from hub.adapters.stock_history import DynamoStockHistory
        from hub.services.stock_history import StockHistory

        return StockHistory(DynamoStockHistory(self.dynamodb, self.settings.table))

    # ------------------------------------------------------------------ intake and its sources
    @cached_property
    def bigcommerce(self) -> BigCommerceApi:
        """BigCommerce's API on the sender's clock (intake answers within its budget): the adapter's
        short timeouts. Built the first time a BigCommerce delivery needs it."""
        if self._bigcommerce is not None:
            return self._bigcommerce
        from hub.adapters.bigcommerce import HttpBigCommerceApi

        return HttpBigCommerceApi(self.secrets)

    @cached_property
    def sources(self) -> SourceRegistry:
        """Every webhook source, each built on its first delivery; BigCommerce's reads through
        `bigcommerce`. Intake verifies and parses with them, the change feeds parse with them."""
        from hub.intake.sources import SourceRegistry

        return SourceRegistry(
            bigcommerce=lambda: self.bigcommerce,
            woocommerce=lambda: self.woocommerce_variations,
            magento=lambda: self.magento_products,
        )

    @cached_property
    def magento_products(self) -> MagentoProducts:
        """An Adobe Commerce product read by SKU, by intake with catalog sync on (short timeouts)."""
        from hub.adapters.storefront_catalog import MagentoProductReader

        return MagentoProductReader(self.secrets, self._http_transport)

    @cached_property
    def woocommerce_variations(self) -> WooCommerceVariations:
        """A variable product's variations, read by intake with catalog sync on (short timeouts)."""
        from hub.adapters.storefront_catalog import WooCommerceVariationReader

        return WooCommerceVariationReader(self.secrets, self._http_transport)

    @cached_property
    def intake(self) -> IntakeService:
        from hub.intake import IntakeService

        return IntakeService(
            self.sources, self.secrets, self.config, self.delivery_log, self.lineage, activity=self.webhook_activity
        )

    @cached_property
    def webhook_activity(self) -> WebhookActivity:
        """Deliveries per source and hour by outcome: intake counts, the webhooks page reads."""
        from hub.adapters.webhook_activity import DynamoWebhookActivityLog
        from hub.services.webhook_activity import WebhookActivity

        return WebhookActivity(DynamoWebhookActivityLog(self.dynamodb, self.settings.table), lambda: self.sources)

    @cached_property
    def resource_fetch(self) -> ResourceFetchService:
        """Off the sender's clock: longer timeouts than intake's, and no overall budget."""
        from hub.intake.bigcommerce import BigCommerceSource
        from hub.services.resource_fetch import ResourceFetchService

        api = self._bigcommerce
        if api is None:
            from hub.adapters.bigcommerce import HttpBigCommerceApi

            api = HttpBigCommerceApi(self.secrets, timeout=10.0, connect_timeout=3.0)
        bigcommerce = BigCommerceSource(api, fetch_budget_seconds=None)
        # Catalog sync's further reads that failed at intake, each reader built on its first use.
        from hub.adapters.storefront_catalog import MagentoProductReader, WooCommerceVariationReader
        from hub.intake.magento import MagentoSource
        from hub.intake.woocommerce import WooCommerceSource

        transport, secrets = self._http_transport, self.secrets
        variations = WooCommerceVariationReader(secrets, transport, timeout=10.0)
        products = MagentoProductReader(secrets, transport, timeout=10.0)
        completers: dict[str, ResourceCompleter] = {
            "bigcommerce": bigcommerce,
            "woocommerce": WooCommerceSource(lambda: variations),
            "magento": MagentoSource(products=lambda: products),
        }
        return ResourceFetchService(completers, self.delivery_log, self.config)

    @cached_property
    def fetch_backoff(self) -> SqsBackoff:
        """Makes a failed fetch's record wait longer each time it comes back (HUB_RESOURCE_FETCH_QUEUE_URL)."""
        import os

        from hub.adapters.backoff import SqsBackoff

        return SqsBackoff(self.sqs, os.environ["HUB_RESOURCE_FETCH_QUEUE_URL"])

    @cached_property
    def traffic_import(self) -> TrafficImport:
        """Website traffic read from GA4 into the report's traffic items; the source is built per run
        from the configuration then in force and the traffic secret (its token cache outlives it)."""
        from hub.adapters.ga4_data import ga4_traffic_source
        from hub.adapters.traffic_store import DynamoTrafficStore
        from hub.services.traffic import TrafficImport

        secrets, transport = self.secrets, self._http_transport
        return TrafficImport(
            DynamoTrafficStore(self.dynamodb, self.settings.table),
            self.config,
            lambda config: ga4_traffic_source(config, secrets, transport=transport),
        )

    @cached_property
    def reconciler(self) -> Reconciler:
        from hub.adapters.feeds import FeedContext, VendorFeeds
        from hub.adapters.reconcile_store import DynamoAppliedEvents, DynamoReconcileCursors
        from hub.services.payments import order_id_of
        from hub.services.reconciliation import FIRST_LOOKBACK, Reconciler

        env, config = self.settings, self.config
        lookback = FIRST_LOOKBACK if self._reconcile_lookback is None else self._reconcile_lookback
        return Reconciler(
            VendorFeeds(FeedContext(self.secrets, config, self.sources)),
            DynamoReconcileCursors(self.dynamodb, env.table),
            DynamoAppliedEvents(self.dynamodb, env.table, order_of=lambda event: order_id_of(event, config())),
            self.delivery_log,
            config,
            first_lookback=lookback,
            lineage=self.lineage,
        )
