"""The CloudFormation template that deploys pgs3v's bridge on AWS, and the names it is driven by.

The template ships inside the package (``pgs3v/aws/pgs3v.yaml``), so an installed pgs3v can deploy
without a checkout. Its parameter and output names are a contract with the ``pgs3v aws`` commands:
they are spelled here once.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

TEMPLATE_FILE = "pgs3v.yaml"

# Parameters
NAME_PREFIX = "NamePrefix"
CODE_S3_BUCKET = "CodeS3Bucket"
CODE_S3_KEY = "CodeS3Key"
VECTOR_BUCKET_NAME = "VectorBucketName"
CREATE_VECTOR_BUCKET = "CreateVectorBucket"
INDEX_NAME = "IndexName"
INDEX_DIMENSION = "IndexDimension"
INDEX_DISTANCE_METRIC = "IndexDistanceMetric"
SUBNET_IDS = "SubnetIds"
SECURITY_GROUP_IDS = "SecurityGroupIds"
STORE_ENDPOINT = "StoreEndpoint"
FUNCTION_MEMORY_SIZE = "FunctionMemorySize"
FUNCTION_TIMEOUT = "FunctionTimeout"
LOG_RETENTION_DAYS = "LogRetentionDays"
PARAMETERS = (
    NAME_PREFIX, CODE_S3_BUCKET, CODE_S3_KEY, VECTOR_BUCKET_NAME, CREATE_VECTOR_BUCKET, INDEX_NAME,
    INDEX_DIMENSION, INDEX_DISTANCE_METRIC, SUBNET_IDS, SECURITY_GROUP_IDS, STORE_ENDPOINT,
    FUNCTION_MEMORY_SIZE, FUNCTION_TIMEOUT, LOG_RETENTION_DAYS,
)
DEFAULT_NAME_PREFIX = "pgs3v"

# Outputs
QUERY_FUNCTION_NAME = "QueryFunctionName"
WRITE_FUNCTION_NAME = "WriteFunctionName"
MANAGE_FUNCTION_NAME = "ManageFunctionName"
QUERY_FUNCTION_ARN = "QueryFunctionArn"
WRITE_FUNCTION_ARN = "WriteFunctionArn"
MANAGE_FUNCTION_ARN = "ManageFunctionArn"
AURORA_LAMBDA_ROLE_ARN = "AuroraLambdaRoleArn"
VECTOR_BUCKET_NAME_OUTPUT = "VectorBucketName"
OUTPUTS = (
    QUERY_FUNCTION_NAME, WRITE_FUNCTION_NAME, MANAGE_FUNCTION_NAME, QUERY_FUNCTION_ARN, WRITE_FUNCTION_ARN,
    MANAGE_FUNCTION_ARN, AURORA_LAMBDA_ROLE_ARN, VECTOR_BUCKET_NAME_OUTPUT,
)

# The functions' names are the prefix and these suffixes.
QUERY_SUFFIX, WRITE_SUFFIX, MANAGE_SUFFIX = "-query", "-write", "-manage"


def template_path() -> Path:
    """The path of the CloudFormation template inside the installed package."""
    return Path(str(resources.files("pgs3v.aws").joinpath(TEMPLATE_FILE)))


def template_body() -> str:
    """The template's text, as CloudFormation's TemplateBody takes it."""
    return template_path().read_text(encoding="utf-8")


def function_names(prefix: str = DEFAULT_NAME_PREFIX) -> tuple[str, str, str]:
    """The (query, write, manage) function names a stack with this NamePrefix creates."""
    return prefix + QUERY_SUFFIX, prefix + WRITE_SUFFIX, prefix + MANAGE_SUFFIX
