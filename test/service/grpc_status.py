#!/usr/bin/env python3
"""A gRPC client in another language: reads a dgp run's status with Python's grpcio.

Stubs come from the repository's proto/dgp/v1/federation.proto (grpc_tools.protoc, run by the
test into STUBS). Prints one JSON line: the status, or the gRPC status code of the failure.
Usage: grpc_status.py STUBS HOST:PORT CA.pem [TOKEN]
"""
import json
import sys

stubs, target, ca_path = sys.argv[1:4]
token = sys.argv[4] if len(sys.argv) > 4 else None
sys.path.insert(0, stubs)

import grpc  # noqa: E402
from dgp.v1 import federation_pb2, federation_pb2_grpc  # noqa: E402

with open(ca_path, 'rb') as f:
    credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
with grpc.secure_channel(target, credentials) as channel:
    stub = federation_pb2_grpc.FederationServiceStub(channel)
    metadata = [('authorization', f'Bearer {token}')] if token else []
    try:
        r = stub.Status(federation_pb2.StatusRequest(), metadata=metadata, timeout=20)
        print(json.dumps({'ok': True, 'run_id': r.run_id, 'state': r.state, 'round': r.round, 'rounds': r.rounds,
                          'clients': r.clients, 'connected': r.connected}))
    except grpc.RpcError as e:
        print(json.dumps({'ok': False, 'code': e.code().name, 'details': e.details()}))
