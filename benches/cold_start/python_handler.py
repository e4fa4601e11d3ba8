"""The Python 3 + boto3 equivalent of the Rust `transaction-validator`, for the cold-start bench.

It does the same work per POST (validate, conditional PutItem, two SendMessage, an async
Invoke, mark dispatched) and talks to the Lambda runtime API the way the managed Python
runtime does: imports and clients at init, then a next/response loop.
"""

import hashlib
import json
import os
import urllib.request
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

import boto3

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
TABLE = os.environ["TRANSACTIONS_TABLE"]
ANALYTICS = os.environ["ANALYTICS_QUEUE_URL"]
REPORTING = os.environ["REPORTING_QUEUE_URL"]
NOTIFY = os.environ["NOTIFICATION_FUNCTION"]

dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
lam = boto3.client("lambda")


def respond(status, body):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def handle(event):
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return respond(400, {"error": "Request body is not valid JSON"})
    missing = [f for f in ("transaction_id", "merchant_id", "amount") if body.get(f) is None]
    if missing:
        return respond(400, {"error": "Missing required fields", "fields": missing})
    try:
        amount = Decimal(str(body["amount"]))
    except InvalidOperation:
        return respond(400, {"error": "Invalid amount", "field": "amount"})
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        return respond(400, {"error": "Invalid amount", "field": "amount"})
    date = body.get("transaction_date") or datetime.now(timezone.utc).isoformat()
    record = {
        "transaction_id": body["transaction_id"],
        "merchant_id": body["merchant_id"],
        "amount": str(amount),
        "currency": body.get("currency", "USD"),
        "transaction_date": date,
    }
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    item = {k: {"S": v} for k, v in record.items()}
    item["amount"] = {"N": record["amount"]}
    item["payload_hash"] = {"S": digest}
    dynamodb.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(transaction_id)")
    message = json.dumps(record)
    sqs.send_message(QueueUrl=ANALYTICS, MessageBody=message)
    sqs.send_message(QueueUrl=REPORTING, MessageBody=message)
    lam.invoke(FunctionName=NOTIFY, InvocationType="Event", Payload=message.encode())
    dynamodb.update_item(
        TableName=TABLE,
        Key={"transaction_id": {"S": record["transaction_id"]}},
        UpdateExpression="SET dispatched_at = :now",
        ExpressionAttributeValues={":now": {"S": datetime.now(timezone.utc).isoformat()}},
    )
    return respond(200, {"message": "Transaction validated successfully", "transaction_id": record["transaction_id"]})


while True:
    with urllib.request.urlopen(f"http://{API}/2018-06-01/runtime/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    result = json.dumps(handle(event)).encode()
    urllib.request.urlopen(
        urllib.request.Request(f"http://{API}/2018-06-01/runtime/invocation/{request_id}/response", data=result)
    ).read()
