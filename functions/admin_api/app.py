"""admin_api: the read/admin API over orders and inventory (IAM auth in AWS, bearer token locally).

Routing only: the routes' bodies and request models are in hub.api.admin."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.api import admin
from hub.api.responses import error_response, json_response
from hub.bootstrap import Sandbox
from hub.errors import RefusedError
from hub.observability import logger, metrics

app = APIGatewayHttpResolver()
sandbox = Sandbox()


def _json_body() -> object:
    return app.current_event.json_body


@app.get("/orders")
def list_orders() -> dict:
    return admin.list_orders(sandbox, app.current_event.query_string_parameters)


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> dict:
    return admin.get_order(sandbox, order_id)


@app.get("/orders/<order_id>/lineage")
def get_order_lineage(order_id: str) -> dict:
    return admin.get_order_lineage(sandbox, order_id)


@app.post("/orders/<order_id>/shipments")
def post_shipment(order_id: str) -> Response:
    return json_response(200, admin.post_shipment(sandbox, order_id, _json_body))


@app.get("/inventory")
def list_inventory() -> dict:
    return admin.list_inventory(sandbox, app.current_event.query_string_parameters)


@app.get("/inventory/<sku>")
def get_inventory(sku: str) -> dict:
    return admin.get_inventory(sandbox, sku)


@app.put("/inventory/<sku>")
def put_inventory(sku: str) -> dict:
    return admin.put_inventory(sandbox, sku, _json_body)


@app.get("/customers/<email>")
def get_customer(email: str) -> dict:
    return admin.get_customer(sandbox, email)


@app.get("/reports/daily")
def get_daily_report() -> dict:
    return admin.get_daily_report(sandbox, app.current_event.query_string_parameters)


@app.get("/webhooks/activity")
def get_webhook_activity() -> dict:
    return admin.webhook_activity(sandbox)


@app.get("/products/<sku>")
def get_product(sku: str) -> dict:
    return admin.get_product(sandbox, sku)


@app.put("/products/<sku>")
def put_product(sku: str) -> Response:
    return json_response(202, admin.put_product(sandbox, sku, _json_body))


@app.get("/catalog/drift")
def get_catalog_drift() -> dict:
    return admin.catalog_drift(sandbox, app.current_event.query_string_parameters)


@app.exception_handler(RefusedError)
def _refused(exc: RefusedError) -> Response:
    # By branch (hub.errors): a refusal answers its own 4xx (NotFoundError 404, BadRequestError and
    # UnknownLocationError 400, ShipError the status it names).
    return error_response(exc.status_code, str(exc))


@app.not_found
def _no_route(_exc: Exception) -> Response:
    return error_response(404, "no such route")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
