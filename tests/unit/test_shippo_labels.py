"""Shippo label purchases against the Shippo fake (tests/shippo_api.py): the documented request, the
fake's refusals, and a purchase that is never made twice.

Shapes: docs.goshippo.com "Shipping label sizes" (label_file_type tokens: PDF, PDF_4x6, ..., ZPLII),
api-reference "Create a shipping label" (POST /transactions {rate, label_file_type, metadata, async})
and "List all shipping labels" (GET /transactions?rate=, {next, previous, results}); the
shippo-python-sdk models LabelFileTypeEnum, ListTransactionsRequest and TransactionStatusEnum.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hub.adapters.carriers import ShipmentRequest, ShippoCarrier
from hub.adapters.http import default_retry
from hub.config import parse_config
from hub.domain.orders import Address
from hub.errors import OutboundError

from tests.shippo_api import SHIPPO_TOKEN, FakeShippo

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TO = Address(
    name="Ada Lovelace", street1="1 Analytical Way", city="Boston", state="MA", postal_code="02110", country="US"
)


def config(label_format: str = "PDF", provider: str = "shippo"):
    return parse_config(
        f"""
locations: [{{id: wh-east, country: US}}]
carrier:
  provider: {provider}
  service_level: {{max_days: 3}}
  label_format: {label_format}
  from_address: {{name: Ada Goods, street1: 9 Dock St, city: Newark, state: NJ, zip: "07102", country: US}}
"""
    ).carrier


def request(label_format: str = "PDF") -> ShipmentRequest:
    carrier = config(label_format)
    return ShipmentRequest("ful_abc123", TO, carrier.from_address, carrier)  # type: ignore[arg-type]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def shippo(clock) -> FakeShippo:
    return FakeShippo(clock=clock)


def carrier_on(shippo: FakeShippo, clock: Clock) -> ShippoCarrier:
    return ShippoCarrier(
        SHIPPO_TOKEN, transport=shippo.transport(), retry=default_retry(backoff=0.001, budget=2), clock=clock
    )


def test_zpl_is_bought_as_zplii_with_the_documented_request(shippo, clock):
    carrier = carrier_on(shippo, clock)
    shipment_id = carrier.create_shipment(request("ZPL"))
    label = carrier.buy(shipment_id, request("ZPL"))
    assert label.tracking_number == shippo.transactions[0]["tracking_number"] and shippo.purchases == 1
    (listed,) = shippo.sent("GET", "/transactions/")
    priority = shippo.shipments[shipment_id]["rates"][1]["object_id"]  # the cheapest within 3 days
    assert listed.url.params == httpx.QueryParams(rate=priority, results="100")
    (bought,) = shippo.sent("POST", "/transactions/")
    assert json.loads(bought.content) == {
        "rate": priority,
        "label_file_type": "ZPLII",
        "metadata": "ful_abc123",
        "async": False,
    }
    assert (label.carrier, label.service) == ("USPS", "usps_priority")


def test_the_fake_refuses_zpl():
    shippo = FakeShippo(clock=lambda: T0)
    client = httpx.Client(transport=shippo.transport(), headers={"Authorization": f"ShippoToken {SHIPPO_TOKEN}"})
    shipment = client.post("https://api.goshippo.com/shipments/", json={"address_from": {}, "address_to": {}})
    assert shipment.status_code == 400  # parcels missing
    shipment_id = ShippoCarrier(SHIPPO_TOKEN, transport=shippo.transport()).create_shipment(request())
    rate = shippo.shipments[shipment_id]["rates"][0]["object_id"]
    refused = client.post(
        "https://api.goshippo.com/transactions/", json={"rate": rate, "label_file_type": "ZPL", "async": False}
    )
    assert refused.status_code == 400 and "label_file_type" in refused.json() and shippo.purchases == 0


def test_the_fake_refuses_a_rate_seven_days_old(shippo, clock):
    shipment_id = carrier_on(shippo, clock).create_shipment(request())
    rate = shippo.shipments[shipment_id]["rates"][1]["object_id"]
    clock.now = T0 + timedelta(days=7)
    client = httpx.Client(transport=shippo.transport(), headers={"Authorization": f"ShippoToken {SHIPPO_TOKEN}"})
    refused = client.post("https://api.goshippo.com/transactions/", json={"rate": rate, "async": False})
    assert refused.status_code == 400 and "7 days" in refused.json()["rate"][0] and shippo.purchases == 0


@pytest.mark.parametrize("failure", ["time_out_next_purchase", "fail_after_next_purchase"])
def test_a_purchase_that_timed_out_is_not_retried_and_the_retry_buys_nothing_more(shippo, clock, failure):
    carrier = carrier_on(shippo, clock)
    shipment_id = carrier.create_shipment(request())
    setattr(shippo, failure, 1)  # the label is bought, then the answer is lost (timeout) or a 502
    with pytest.raises(OutboundError, match="transaction"):
        carrier.buy(shipment_id, request())
    assert shippo.purchases == 1 and len(shippo.sent("POST", "/transactions/")) == 1  # not retried blindly

    label = carrier.buy(shipment_id, request())  # the SQS record's retry
    assert shippo.purchases == 1 and len(shippo.sent("POST", "/transactions/")) == 1
    assert label.tracking_number == shippo.transactions[0]["tracking_number"]
    assert label.label_url == shippo.transactions[0]["label_url"]


def test_a_purchase_still_queued_is_waited_for(shippo, clock):
    carrier = carrier_on(shippo, clock)
    shipment_id = carrier.create_shipment(request())
    rate = shippo.shipments[shipment_id]["rates"][1]
    shippo.transactions.append({"status": "QUEUED", "rate": {"object_id": rate["object_id"]}, "tracking_number": ""})
    with pytest.raises(OutboundError, match="still buying"):
        carrier.buy(shipment_id, request())
    assert shippo.sent("POST", "/transactions/") == []


def test_rates_older_than_seven_days_are_refreshed_and_kept_before_buying(shippo, clock):
    carrier = carrier_on(shippo, clock)
    old = carrier.create_shipment(request())
    clock.now = T0 + timedelta(days=7, minutes=-30)  # within the hour before Shippo refuses them
    rebooked = []

    def rebook(new: str) -> str:
        rebooked.append(new)
        return new

    label = carrier.buy(old, request(), rebook=rebook)
    (fresh,) = rebooked
    assert fresh != old and label.shipment_id == fresh and shippo.purchases == 1
    bought_rate = json.loads(shippo.sent("POST", "/transactions/")[0].content)["rate"]
    assert bought_rate == shippo.shipments[fresh]["rates"][1]["object_id"]
    # The new shipment has the same details; a different key, as it is another shipment.
    first, second = shippo.sent("POST", "/shipments/")
    assert json.loads(first.content) == json.loads(second.content)
    assert second.headers["Idempotency-Key"] == f"ful_abc123-shipment-{old}"


def test_a_label_bought_on_rates_now_stale_is_reused_not_refreshed(shippo, clock):
    carrier = carrier_on(shippo, clock)
    shipment_id = carrier.create_shipment(request())
    shippo.time_out_next_purchase = 1
    with pytest.raises(OutboundError):
        carrier.buy(shipment_id, request())
    clock.now = T0 + timedelta(days=8)
    label = carrier.buy(shipment_id, request(), rebook=lambda new: pytest.fail("re-rated a bought shipment"))
    assert label.tracking_number == shippo.transactions[0]["tracking_number"] and shippo.purchases == 1


def test_a_booking_changed_meanwhile_stops_the_purchase(shippo, clock):
    carrier = carrier_on(shippo, clock)
    old = carrier.create_shipment(request())
    clock.now = T0 + timedelta(days=7)
    with pytest.raises(OutboundError, match="booking of ful_abc123 changed"):
        carrier.buy(old, request(), rebook=lambda new: "another-shipment")
    assert shippo.purchases == 0


def test_label_formats_are_each_carriers_own():
    assert config("ZPL").label_format == "ZPL" and config("PDF_4x6").label_format == "PDF_4x6"
    assert config("ZPLII").label_format == "ZPLII"
    assert config("EPL2", provider="easypost").label_format == "EPL2"
    with pytest.raises(ValueError, match=r"carrier\.label_format 'PDF_4x6' is not one easypost sells"):
        config("PDF_4x6", provider="easypost")
    with pytest.raises(ValueError, match=r"carrier\.label_format 'EPL2' is not one shippo sells"):
        config("EPL2")
