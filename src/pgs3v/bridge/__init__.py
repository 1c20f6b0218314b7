"""The bridge: a Lambda handler that carries S3 Vectors calls from SQL to the store.

``pgs3v.bridge.handler.handler`` runs unchanged on AWS Lambda and in the local function host.
The modules on the handler's path (handler, settings, store_client, batching, retry, results)
import only the standard library and boto3/botocore, so they can be zipped and deployed alone;
the function host's modules (function_host, functions, invocation, lambda_errors, host_server,
process, cli, packaging) may use the rest of the project. Nothing is imported here, so
``import pgs3v.bridge.handler`` stays light.
"""
