"""Cold-start bench driver: a Lambda runtime-API emulator on 127.0.0.1 plus a timer.

For each run it starts a fresh process (the Rust `bootstrap` or the Python handler), queues
one API Gateway POST event, and measures process start -> response posted: Lambda's init
plus first invocation, against moto. Runs alternate between the two so load drifts hit both.
"""

import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

ENDPOINT = os.environ["TXDEPLOY_TEST_ENDPOINT"]
BOOTSTRAP = sys.argv[1]
PYTHON_HANDLER = sys.argv[2]
RUNS = int(os.environ.get("COLD_START_RUNS", "10"))

responses = queue.Queue()


class RuntimeApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/2018-06-01/runtime/invocation/next":
            return self.reply(404)
        request_id, body = self.server.events.get()
        deadline = str(int(time.time() * 1000) + 30000)
        self.reply(200, body, [
            ("Lambda-Runtime-Aws-Request-Id", request_id),
            ("Lambda-Runtime-Deadline-Ms", deadline),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
            ("Lambda-Runtime-Trace-Id", "Root=1-6543a1b2-0123456789abcdef01234567;Sampled=0"),
            ("Content-Type", "application/json"),
        ])

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        responses.put((time.perf_counter(), self.path, body))
        self.reply(202, b'{"status":"OK"}')


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Each process is killed right after its response arrives; its sockets just close.
        pass


def make_stack():
    kw = dict(endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    name = f"bench-{uuid.uuid4().hex[:8]}"
    s = lambda a: {"AttributeName": a, "AttributeType": "S"}
    boto3.client("dynamodb", **kw).create_table(
        TableName=f"{name}-transactions",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[s("transaction_id"), s("merchant_id"), s("transaction_date")],
        KeySchema=[{"AttributeName": "transaction_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "merchant-date-index",
            "KeySchema": [{"AttributeName": "merchant_id", "KeyType": "HASH"},
                          {"AttributeName": "transaction_date", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )
    sqs = boto3.client("sqs", **kw)
    queues = {q: sqs.create_queue(QueueName=f"{name}-{q}")["QueueUrl"] for q in ("analytics", "reporting")}
    role = boto3.client("iam", **kw).create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    function = f"{name}-notification-handler"
    boto3.client("lambda", **kw).create_function(
        FunctionName=function, Runtime="provided.al2023", Role=role, Handler="bootstrap",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )
    return {
        "TRANSACTIONS_TABLE": f"{name}-transactions",
        "ANALYTICS_QUEUE_URL": queues["analytics"],
        "REPORTING_QUEUE_URL": queues["reporting"],
        "NOTIFICATION_FUNCTION": function,
        "PAGINATION_KEY": "bench-pagination-key-0123456789",
    }


def cold_start(command, env):
    # A fresh emulator per run: a killed process's pending `next` poll must not take the
    # next run's event.
    server = QuietServer(("127.0.0.1", 0), RuntimeApi)
    server.events = queue.Queue()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    request_id = uuid.uuid4().hex
    body = json.dumps({"transaction_id": request_id[:32], "merchant_id": "m-bench", "amount": "12.34"})
    event = {"resource": "/transactions", "path": "/transactions", "httpMethod": "POST",
             "headers": {"Content-Type": "application/json"}, "queryStringParameters": None,
             "pathParameters": None, "stageVariables": None,
             "requestContext": {"accountId": "123456789012", "resourceId": "abc123", "stage": "dev",
                                "requestId": request_id, "identity": {"sourceIp": "203.0.113.7"},
                                "resourcePath": "/transactions", "httpMethod": "POST",
                                "apiId": "a1b2c3d4e5", "protocol": "HTTP/1.1"},
             "body": body, "isBase64Encoded": False}
    server.events.put((request_id, json.dumps(event).encode()))
    full_env = dict(env, AWS_LAMBDA_RUNTIME_API=address, AWS_LAMBDA_FUNCTION_NAME="bench",
                    AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1536", AWS_LAMBDA_FUNCTION_VERSION="1",
                    AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="test",
                    AWS_SECRET_ACCESS_KEY="test", AWS_ENDPOINT_URL=ENDPOINT,
                    TXDEPLOY_HANDLER="transaction-validator", PATH=os.environ["PATH"])
    started = time.perf_counter()
    process = subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        finished, path, response = responses.get(timeout=60)
    except queue.Empty:
        process.kill()
        sys.exit(f"no response from {command[0]}: {process.stderr.read().decode()[-2000:]}")
    process.kill()
    process.wait()
    server.shutdown()
    server.server_close()
    status = json.loads(response).get("statusCode")
    if not path.endswith(f"{request_id}/response") or status != 200:
        sys.exit(f"{command[0]} answered {path} {response[:300]!r}")
    return (finished - started) * 1000


def main():
    env = make_stack()
    rust, python = [], []
    for _ in range(RUNS):
        rust.append(cold_start([BOOTSTRAP], env))
        python.append(cold_start([sys.executable, PYTHON_HANDLER], env))
    report = lambda xs: f"median {statistics.median(xs):7.1f} ms  min {min(xs):7.1f} ms  max {max(xs):7.1f} ms"
    print(f"cold start + first POST, {RUNS} runs each (against moto):")
    print(f"  rust bootstrap   {report(rust)}")
    print(f"  python + boto3   {report(python)}")
    print(f"  ratio (python / rust, medians): {statistics.median(python) / statistics.median(rust):.1f}x")


main()
