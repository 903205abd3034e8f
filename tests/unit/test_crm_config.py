"""The crm section of the configuration: typed, with its mistakes named."""

from __future__ import annotations

import pytest
from hub.config import parse_config
from hub.errors import ConfigError

BASE = "locations: [{id: wh-east, country: US}]\n"


def test_no_crm_section_means_no_crm():
    assert parse_config(BASE).crm.provider == "none"


def test_hubspot_maps_standard_properties_unless_told_otherwise():
    crm = parse_config(BASE + "crm: {provider: hubspot}").crm
    assert crm.mapping() == {"email": "email", "firstname": "first_name", "lastname": "last_name", "phone": "phone"}
    crm = parse_config(
        BASE + "crm: {provider: hubspot, properties: {hub_spent_eur: total_spent.EUR, lastname: last_name}}"
    ).crm
    assert crm.mapping() == {"hub_spent_eur": "total_spent.EUR", "lastname": "last_name"}


def test_salesforce_needs_its_external_id_field():
    with pytest.raises(ConfigError, match=r"crm\.salesforce\.external_id_field"):
        parse_config(BASE + "crm: {provider: salesforce}")
    crm = parse_config(
        BASE + "crm: {provider: salesforce, salesforce: {object: Lead, external_id_field: Hub_Email__c}}"
    ).crm
    assert (crm.salesforce.object, crm.salesforce.api_version) == ("Lead", "v66.0")
    assert crm.defaults() == {"LastName": "Unknown"}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("crm: {provider: pipedrive}", "'crm.provider'"),
        ("crm: {provider: hubspot, token: abc}", "unknown key 'crm.token'"),
        ("crm: {provider: hubspot, properties: {x: favourite_colour}}", "unknown profile fields favourite_colour"),
        ("crm: {provider: hubspot, properties: {x: total_spent.usd}}", "unknown profile fields total_spent.usd"),
        ("crm: {provider: salesforce, salesforce: {external_id_field: 'Hub Email'}}", "external_id_field"),
    ],
)
def test_mistakes_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_config(BASE + section)
