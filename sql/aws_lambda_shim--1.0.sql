-- aws_lambda_shim 1.0: Aurora PostgreSQL's aws_commons / aws_lambda API for any PostgreSQL.
--
-- On Aurora and RDS, `CREATE EXTENSION aws_lambda CASCADE` provides aws_lambda.invoke and
-- aws_commons.create_lambda_function_arn. Everywhere else this file provides the same functions,
-- with the same four overloads, parameter names and defaults, so SQL written against Aurora runs
-- unchanged. It talks to any endpoint serving the Lambda Invoke API
-- (POST /2015-03-31/functions/{name}/invocations), such as `pgs3v functions serve`.
--
-- Install (as a superuser: PL/Python is an untrusted language):
--     psql -v ON_ERROR_STOP=1 -f sql/aws_lambda_shim--1.0.sql
--     psql -c "SELECT aws_lambda_shim.configure(endpoint_url => 'http://127.0.0.1:8760',
--              access_key_id => '...', secret_access_key => '...')"
-- `pgs3v schema install` does both. Re-running this file is harmless.
--
-- Security model:
--   * Everything belongs to the NOLOGIN role pgs3v_shim_owner, including the per-database settings
--     table that holds the signing credentials; only that role (and superusers) can read it.
--   * aws_lambda.invoke is SECURITY DEFINER (it must read those credentials) with a fixed
--     search_path, and EXECUTE is revoked from PUBLIC: grant it only to roles that may call any
--     function with any payload (pgs3v grants it to its owner role, never to its user roles).
--   * The Python code uses the standard library only and never builds SQL from its inputs.

BEGIN;

-- The real extension wins: where AWS's aws_lambda can be installed, this shim must not be.
DO $guard$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = 'aws_lambda') THEN
        RAISE EXCEPTION 'the aws_lambda extension is available here; use it instead of the shim'
            USING HINT = 'CREATE EXTENSION IF NOT EXISTS aws_lambda CASCADE;',
                  ERRCODE = 'duplicate_object';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname IN ('aws_lambda', 'aws_commons')) THEN
        RAISE EXCEPTION 'an aws_lambda or aws_commons extension is installed; the shim would clash with it'
            USING ERRCODE = 'duplicate_object';
    END IF;
END
$guard$;

CREATE EXTENSION IF NOT EXISTS plpython3u;

DO $role$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgs3v_shim_owner') THEN
        CREATE ROLE pgs3v_shim_owner NOLOGIN;
    END IF;
END
$role$;

CREATE SCHEMA IF NOT EXISTS aws_commons;
CREATE SCHEMA IF NOT EXISTS aws_lambda;
CREATE SCHEMA IF NOT EXISTS aws_lambda_shim;
ALTER SCHEMA aws_commons OWNER TO pgs3v_shim_owner;
ALTER SCHEMA aws_lambda OWNER TO pgs3v_shim_owner;
ALTER SCHEMA aws_lambda_shim OWNER TO pgs3v_shim_owner;
COMMENT ON SCHEMA aws_lambda_shim IS 'pgs3v: private state of the aws_lambda shim (endpoint and credentials)';

-- ---------------------------------------------------------------------------------------------
-- aws_commons: the composite Aurora uses to name a function, and its constructor.
-- ---------------------------------------------------------------------------------------------

DO $type$
BEGIN
    IF pg_catalog.to_regtype('aws_commons._lambda_function_arn_1') IS NULL THEN
        CREATE TYPE aws_commons._lambda_function_arn_1 AS (function_name text, region text);
    END IF;
END
$type$;
ALTER TYPE aws_commons._lambda_function_arn_1 OWNER TO pgs3v_shim_owner;

CREATE OR REPLACE FUNCTION aws_commons.create_lambda_function_arn(
    function_name text,
    region text DEFAULT NULL)
RETURNS aws_commons._lambda_function_arn_1
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ROW($1, $2)::aws_commons._lambda_function_arn_1 $$;
ALTER FUNCTION aws_commons.create_lambda_function_arn(text, text) OWNER TO pgs3v_shim_owner;

-- ---------------------------------------------------------------------------------------------
-- Settings: one row per database. Holds a secret, so nobody but the owner may read it.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS aws_lambda_shim.settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- Base URL of the Lambda Invoke API, e.g. http://127.0.0.1:8760 (no credentials in it).
    endpoint_url text NOT NULL CHECK (endpoint_url ~ '^https?://[A-Za-z0-9.:\[\]_-]+(/[^\s?#]*)?$'),
    -- Region used when neither the call nor the function ARN names one (SigV4 scope).
    region text NOT NULL DEFAULT 'us-east-1' CHECK (region ~ '^[a-z0-9-]{1,32}$'),
    -- SigV4 credentials (service "lambda"); both NULL sends unsigned requests.
    access_key_id text CHECK (access_key_id ~ '^[A-Za-z0-9]{1,128}$'),
    secret_access_key text CHECK (secret_access_key !~ '[\r\n]'),
    -- Bounds connecting and each wait for an answer, so a dead host is an error, never a hang.
    timeout_seconds double precision NOT NULL DEFAULT 30 CHECK (timeout_seconds > 0 AND timeout_seconds <= 900),
    CHECK ((access_key_id IS NULL) = (secret_access_key IS NULL))
);
ALTER TABLE aws_lambda_shim.settings OWNER TO pgs3v_shim_owner;
REVOKE ALL ON aws_lambda_shim.settings FROM PUBLIC;
COMMENT ON TABLE aws_lambda_shim.settings
    IS 'pgs3v: where aws_lambda.invoke sends requests, and the keys it signs them with';

-- ---------------------------------------------------------------------------------------------
-- The one function that talks HTTP. Not callable directly: the aws_lambda.invoke overloads
-- below call it, through invoke_checked, as the owner role. It reports failures in its error_*
-- columns rather than raising, because an error raised from PL/Python reaches the client as
-- "plpy.Error: ..."; invoke_checked raises them with their own message and SQLSTATE.
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION aws_lambda_shim.invoke_text(
    function_name text,
    payload text,
    region text,
    invocation_type text,
    log_type text,
    context text,
    qualifier text,
    OUT status_code integer,
    OUT response_payload text,
    OUT executed_version text,
    OUT log_result text,
    OUT error_sqlstate text,
    OUT error_message text,
    OUT error_detail text,
    OUT error_hint text)
LANGUAGE plpython3u VOLATILE
SET search_path = pg_catalog, pg_temp
AS $python$
# The helpers are built once per backend and kept in GD (keyed by version, so an upgraded shim
# never runs stale code), together with one kept-alive connection per endpoint.
shim = GD.get("aws_lambda_shim/1.0")
if shim is None:
    import base64
    import hashlib
    import hmac
    import http.client
    import json
    import re
    import socket
    import time
    from urllib.parse import quote, urlsplit

    # Lambda's FunctionName and Qualifier patterns (botocore's lambda model). Validating them also
    # keeps anything but a plain path segment out of the request line.
    FUNCTION_NAME = re.compile(
        r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
        r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?")
    QUALIFIER = re.compile(r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+")
    REGION = re.compile(r"[a-z0-9-]{1,32}")
    ARN_REGION = re.compile(r"arn:[^:]*:lambda:((?:eusc-)?[a-z]{2}[a-z0-9-]*-\d):")
    STATUS_BY_TYPE = {"RequestResponse": 200, "Event": 202, "DryRun": 204}
    LOG_TYPES = ("None", "Tail")
    MAX_CLIENT_CONTEXT = 3583  # bytes of base64, Lambda's limit
    # Errors of a kept-alive connection the server closed while idle: safe to retry once on a
    # fresh one, because the request never reached a live server.
    STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                        ConnectionAbortedError)
    # The Invoke API's own errors (not the function's), by HTTP status.
    SQLSTATE_BY_HTTP_STATUS = {400: "22023", 401: "28000", 403: "28000", 404: "42883", 413: "54000",
                               429: "53400"}

    class Failure(Exception):
        """An error for invoke_checked to raise: SQLSTATE, message, detail, hint."""

        def __init__(self, message, sqlstate, detail, hint=None):
            super().__init__(message)
            self.row = (None, None, None, None, sqlstate, message, detail, hint)

    def fail(message, sqlstate, detail="", hint=None):
        raise Failure(message, sqlstate, detail, hint)

    def one_write_connection(base):
        class OneWriteConnection(base):
            """http.client's connection, with TCP_NODELAY and headers + body in a single write.

            http.client writes the headers and the body separately; with Nagle's algorithm the
            second small write can wait for the server's delayed ACK (~40 ms) on every call.
            """

            pending_body = None

            def connect(self):
                base.connect(self)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def send(self, data):
                body, self.pending_body = self.pending_body, None
                if body:
                    data = bytes(data) + body
                base.send(self, data)

        return OneWriteConnection

    CONNECTION_CLASSES = {"http": one_write_connection(http.client.HTTPConnection),
                          "https": one_write_connection(http.client.HTTPSConnection)}

    class Shim:
        def __init__(self):
            self.settings_plan = plpy.prepare(
                "SELECT endpoint_url, region, access_key_id, secret_access_key, timeout_seconds"
                " FROM aws_lambda_shim.settings")
            self.connections = {}
            self.signing_keys = {}

        def settings(self):
            rows = plpy.execute(self.settings_plan)
            if not rows:
                fail("invoke API failed: the aws_lambda shim has no endpoint configured in this database",
                     "55000", "aws_lambda_shim.settings is empty.",
                     hint="Run `pgs3v schema install --function-endpoint URL`, or as a superuser: "
                          "SELECT aws_lambda_shim.configure(endpoint_url => 'http://127.0.0.1:8760', "
                          "access_key_id => '...', secret_access_key => '...');")
            return rows[0]

        def invoke(self, *arguments):
            try:
                return self.attempt(*arguments)
            except Failure as failure:
                return failure.row

        def attempt(self, function_name, payload, region, invocation_type, log_type, context, qualifier):
            settings = self.settings()
            invocation_type = invocation_type or "RequestResponse"
            log_type = log_type or "None"
            if (function_name is None or len(function_name) > 256 or function_name in (".", "..")
                    or not FUNCTION_NAME.fullmatch(function_name)):
                fail(f"invalid Lambda function name: {function_name!r}", "22023",
                     "Lambda accepts a name (my-function), a partial ARN (123456789012:function:my-function) "
                     "or a full ARN, optionally with :qualifier.")
            in_arn = ARN_REGION.match(function_name)
            arn_region = in_arn.group(1) if in_arn else None
            if region is not None and arn_region is not None and region != arn_region:
                fail(f"region {region!r} conflicts with region {arn_region!r} in the function ARN", "22023",
                     f"function {function_name!r}")
            region = region or arn_region or settings["region"]
            if not REGION.fullmatch(region):
                fail(f"invalid region: {region!r}", "22023", "Regions look like us-east-1.")
            if invocation_type not in STATUS_BY_TYPE:
                fail(f"invalid invocation_type {invocation_type!r}: use RequestResponse, Event or DryRun "
                     "(case-sensitive)", "22023", f"function {function_name!r}")
            if log_type not in LOG_TYPES:
                fail(f"invalid log_type {log_type!r}: use None or Tail (case-sensitive)", "22023",
                     f"function {function_name!r}")
            if qualifier is not None and not QUALIFIER.fullmatch(qualifier):
                fail(f"invalid qualifier: {qualifier!r}", "22023",
                     "Qualifiers are versions or aliases: $LATEST, 1, prod.")

            endpoint = settings["endpoint_url"].rstrip("/")
            url = urlsplit(endpoint)
            path = f"{url.path}/2015-03-31/functions/{quote(function_name, safe='')}/invocations"
            query = [("Qualifier", qualifier)] if qualifier is not None else []
            headers = {
                "content-type": "application/json",
                "host": url.netloc,
                "x-amz-invocation-type": invocation_type,
                "x-amz-log-type": log_type,
            }
            if context is not None:
                encoded = base64.b64encode(context.encode("utf-8")).decode("ascii")
                if len(encoded) > MAX_CLIENT_CONTEXT:
                    fail(f"context is {len(encoded)} bytes in base64; Lambda accepts at most {MAX_CLIENT_CONTEXT}",
                         "22023", f"function {function_name!r}")
                headers["x-amz-client-context"] = encoded
            body = payload.encode("utf-8") if payload is not None else b""
            if settings["access_key_id"] is not None:
                self.sign(headers, path, query, body, settings["access_key_id"], settings["secret_access_key"],
                          region)
            headers["content-length"] = str(len(body))
            target = path + ("?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
                             if query else "")

            response, data = self.exchange(endpoint, url, target, headers, body, settings["timeout_seconds"],
                                           function_name)
            return self.result(response, data, endpoint, function_name, invocation_type)

        def sign(self, headers, path, query, body, access_key_id, secret, region):
            """AWS Signature Version 4 for service lambda, as botocore computes it."""
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            day = amz_date[:8]
            headers["x-amz-date"] = amz_date
            names = sorted(headers)
            canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names)
            signed_headers = ";".join(names)
            # botocore signs the path it sends percent-encoded once more (keeping / and ~).
            canonical_query = "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query))
            canonical_request = "\n".join([
                "POST", quote(path, safe="/~"), canonical_query, canonical_headers, signed_headers,
                hashlib.sha256(body).hexdigest(),
            ])
            scope = f"{day}/{region}/lambda/aws4_request"
            string_to_sign = "\n".join([
                "AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
            ])
            cache_key = (secret, day, region)
            key = self.signing_keys.get(cache_key)
            if key is None:
                key = f"AWS4{secret}".encode("utf-8")
                for part in (day, region, "lambda", "aws4_request"):
                    key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
                self.signing_keys = {cache_key: key}  # one day, one region: keep only the latest
            signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
            headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, "
                                        f"SignedHeaders={signed_headers}, Signature={signature}")

        def exchange(self, endpoint, url, target, headers, body, timeout, function_name):
            """Send one request on the endpoint's kept-alive connection; (response, body bytes)."""
            for attempt in (1, 2):
                connection = self.connections.get(endpoint)
                reused = connection is not None
                if connection is None:
                    connection = CONNECTION_CLASSES[url.scheme](url.hostname, url.port, timeout=timeout)
                    self.connections[endpoint] = connection
                else:
                    connection.timeout = timeout
                    if connection.sock is not None:
                        connection.sock.settimeout(timeout)
                try:
                    connection.putrequest("POST", target, skip_host=True, skip_accept_encoding=True)
                    for name, value in headers.items():
                        connection.putheader(name, value)
                    connection.pending_body = body
                    connection.endheaders()
                    response = connection.getresponse()
                    data = response.read()
                except STALE_CONNECTION as error:
                    self.drop(endpoint)
                    if reused and attempt == 1:
                        continue
                    fail(f"invoke API failed: the function host at {endpoint} closed the connection ({error})",
                         "08006", detail=f"function {function_name!r}",
                         hint="Is the function host running? `pgs3v status` shows it.")
                except TimeoutError:
                    connected = connection.sock is not None
                    self.drop(endpoint)
                    what = "no answer from" if connected else "could not connect to"
                    fail(f"invoke API failed: {what} the function host at {endpoint} within {timeout:g} s",
                         "08006", detail=f"function {function_name!r}",
                         hint="Is the function host running and reachable? The timeout is "
                              "aws_lambda_shim.settings.timeout_seconds.")
                except OSError as error:
                    self.drop(endpoint)
                    fail(f"invoke API failed: could not connect to the function host at {endpoint}: {error}",
                         "08001", detail=f"function {function_name!r}",
                         hint="Start it (`pgs3v up`, or `pgs3v functions serve`), or point the shim at it: "
                              "SELECT aws_lambda_shim.configure(endpoint_url => ...).")
                except http.client.HTTPException as error:
                    self.drop(endpoint)
                    fail(f"invoke API failed: the function host at {endpoint} broke the HTTP protocol: "
                         f"{type(error).__name__}: {error}", "08P01", detail=f"function {function_name!r}")
                if response.will_close:
                    self.drop(endpoint)
                return response, data

        def drop(self, endpoint):
            connection = self.connections.pop(endpoint, None)
            if connection is not None:
                connection.close()

        def result(self, response, data, endpoint, function_name, invocation_type):
            status = response.status
            if not 200 <= status < 300:
                error_type = (response.getheader("x-amzn-ErrorType") or "").split(":")[0] or f"HTTP {status}"
                message = data.decode("utf-8", "replace")[:2000]
                try:
                    document = json.loads(message)
                    message = document.get("message") or document.get("Message") or message
                except (ValueError, AttributeError):
                    pass
                fail(f"invoke API failed: the function host at {endpoint} answered {error_type}: {message}",
                     SQLSTATE_BY_HTTP_STATUS.get(status, "58000"),
                     detail=f"function {function_name!r}, HTTP status {status}")
            function_error = response.getheader("X-Amz-Function-Error")
            if function_error:
                details = data.decode("utf-8", "replace")
                try:
                    document = json.loads(details)
                    details = f"{document.get('errorType')}: {document.get('errorMessage')}"
                except (ValueError, AttributeError):
                    pass
                fail(f'lambda invocation failed: function "{function_name}" at {endpoint} returned error '
                     f'"{function_error}"', "38000", detail=f"details: {details[:4000]}")
            text = None
            if invocation_type == "RequestResponse":
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    fail(f"invoke API failed: function {function_name!r} returned a payload that is not UTF-8",
                         "22021", f"endpoint {endpoint}")
                # A function returning None answers "null"; an empty body carries no payload at all.
                text = text or None
            return (status, text, response.getheader("X-Amz-Executed-Version"),
                    response.getheader("X-Amz-Log-Result"), None, None, None, None)

    shim = GD["aws_lambda_shim/1.0"] = Shim()

return shim.invoke(function_name, payload, region, invocation_type, log_type, context, qualifier)
$python$;
ALTER FUNCTION aws_lambda_shim.invoke_text(text, text, text, text, text, text, text) OWNER TO pgs3v_shim_owner;
REVOKE ALL ON FUNCTION aws_lambda_shim.invoke_text(text, text, text, text, text, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION aws_lambda_shim.invoke_checked(
    function_name text,
    payload text,
    region text,
    invocation_type text,
    log_type text,
    context text,
    qualifier text,
    OUT status_code integer,
    OUT response_payload text,
    OUT executed_version text,
    OUT log_result text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r
    FROM aws_lambda_shim.invoke_text(function_name, payload, region, invocation_type, log_type, context, qualifier);
    IF r.error_message IS NOT NULL THEN
        IF r.error_hint IS NULL THEN
            RAISE EXCEPTION USING MESSAGE = r.error_message, ERRCODE = r.error_sqlstate, DETAIL = r.error_detail;
        END IF;
        RAISE EXCEPTION USING MESSAGE = r.error_message, ERRCODE = r.error_sqlstate, DETAIL = r.error_detail,
                              HINT = r.error_hint;
    END IF;
    status_code := r.status_code;
    response_payload := r.response_payload;
    executed_version := r.executed_version;
    log_result := r.log_result;
END
$$;
ALTER FUNCTION aws_lambda_shim.invoke_checked(text, text, text, text, text, text, text) OWNER TO pgs3v_shim_owner;
REVOKE ALL ON FUNCTION aws_lambda_shim.invoke_checked(text, text, text, text, text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- aws_lambda.invoke: Aurora's four overloads (function name as text or as the aws_commons
-- composite, payload as json or jsonb), with the same defaults.
-- Results as on Aurora: RequestResponse -> 200 and the function's payload; Event -> 202 and
-- a NULL payload; DryRun -> 204 and a NULL payload. A function error raises
-- "lambda invocation failed"; an unreachable host raises "invoke API failed".
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION aws_lambda.invoke(
    IN function_name text,
    IN payload json,
    IN region text DEFAULT NULL,
    IN invocation_type text DEFAULT 'RequestResponse',
    IN log_type text DEFAULT 'None',
    IN context json DEFAULT NULL,
    IN qualifier varchar(128) DEFAULT NULL,
    OUT status_code int,
    OUT payload json,
    OUT executed_version text,
    OUT log_result text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.status_code, r.response_payload::json, r.executed_version, r.log_result
    FROM aws_lambda_shim.invoke_checked($1, $2::text, $3, $4, $5, $6::text, $7) AS r
$$;

CREATE OR REPLACE FUNCTION aws_lambda.invoke(
    IN function_name text,
    IN payload jsonb,
    IN region text DEFAULT NULL,
    IN invocation_type text DEFAULT 'RequestResponse',
    IN log_type text DEFAULT 'None',
    IN context jsonb DEFAULT NULL,
    IN qualifier varchar(128) DEFAULT NULL,
    OUT status_code int,
    OUT payload jsonb,
    OUT executed_version text,
    OUT log_result text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.status_code, r.response_payload::jsonb, r.executed_version, r.log_result
    FROM aws_lambda_shim.invoke_checked($1, $2::text, $3, $4, $5, $6::text, $7) AS r
$$;

CREATE OR REPLACE FUNCTION aws_lambda.invoke(
    IN function_name aws_commons._lambda_function_arn_1,
    IN payload json,
    IN invocation_type text DEFAULT 'RequestResponse',
    IN log_type text DEFAULT 'None',
    IN context json DEFAULT NULL,
    IN qualifier varchar(128) DEFAULT NULL,
    OUT status_code int,
    OUT payload json,
    OUT executed_version text,
    OUT log_result text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.status_code, r.response_payload::json, r.executed_version, r.log_result
    FROM aws_lambda_shim.invoke_checked(($1).function_name, $2::text, ($1).region, $3, $4, $5::text, $6) AS r
$$;

CREATE OR REPLACE FUNCTION aws_lambda.invoke(
    IN function_name aws_commons._lambda_function_arn_1,
    IN payload jsonb,
    IN invocation_type text DEFAULT 'RequestResponse',
    IN log_type text DEFAULT 'None',
    IN context jsonb DEFAULT NULL,
    IN qualifier varchar(128) DEFAULT NULL,
    OUT status_code int,
    OUT payload jsonb,
    OUT executed_version text,
    OUT log_result text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.status_code, r.response_payload::jsonb, r.executed_version, r.log_result
    FROM aws_lambda_shim.invoke_checked(($1).function_name, $2::text, ($1).region, $3, $4, $5::text, $6) AS r
$$;

ALTER FUNCTION aws_lambda.invoke(text, json, text, text, text, json, varchar) OWNER TO pgs3v_shim_owner;
ALTER FUNCTION aws_lambda.invoke(text, jsonb, text, text, text, jsonb, varchar) OWNER TO pgs3v_shim_owner;
ALTER FUNCTION aws_lambda.invoke(aws_commons._lambda_function_arn_1, json, text, text, json, varchar)
    OWNER TO pgs3v_shim_owner;
ALTER FUNCTION aws_lambda.invoke(aws_commons._lambda_function_arn_1, jsonb, text, text, jsonb, varchar)
    OWNER TO pgs3v_shim_owner;

-- ---------------------------------------------------------------------------------------------
-- Administration (superusers and the owner role only).
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION aws_lambda_shim.configure(
    endpoint_url text,
    region text DEFAULT 'us-east-1',
    access_key_id text DEFAULT NULL,
    secret_access_key text DEFAULT NULL,
    timeout_seconds double precision DEFAULT 30)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO aws_lambda_shim.settings AS s
        (singleton, endpoint_url, region, access_key_id, secret_access_key, timeout_seconds)
    VALUES (true, rtrim($1, '/'), $2, $3, $4, $5)
    ON CONFLICT (singleton) DO UPDATE
        SET endpoint_url = excluded.endpoint_url, region = excluded.region,
            access_key_id = excluded.access_key_id, secret_access_key = excluded.secret_access_key,
            timeout_seconds = excluded.timeout_seconds
$$;
COMMENT ON FUNCTION aws_lambda_shim.configure(text, text, text, text, double precision)
    IS 'pgs3v: set the Lambda Invoke endpoint, region, SigV4 keys and timeout of this database';

-- What is configured, without the secret: for `pgs3v doctor` and for people.
CREATE OR REPLACE FUNCTION aws_lambda_shim.configuration(
    OUT endpoint_url text,
    OUT region text,
    OUT access_key_id text,
    OUT has_secret_access_key boolean,
    OUT timeout_seconds double precision)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.endpoint_url, s.region, s.access_key_id, s.secret_access_key IS NOT NULL, s.timeout_seconds
    FROM aws_lambda_shim.settings AS s
$$;

CREATE OR REPLACE FUNCTION aws_lambda_shim.shim_version() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '1.0'::text $$;

ALTER FUNCTION aws_lambda_shim.configure(text, text, text, text, double precision) OWNER TO pgs3v_shim_owner;
ALTER FUNCTION aws_lambda_shim.configuration() OWNER TO pgs3v_shim_owner;
ALTER FUNCTION aws_lambda_shim.shim_version() OWNER TO pgs3v_shim_owner;

-- ---------------------------------------------------------------------------------------------
-- Privileges: like Aurora, invoking is granted explicitly; building an ARN value is harmless.
-- ---------------------------------------------------------------------------------------------

REVOKE ALL ON SCHEMA aws_lambda_shim FROM PUBLIC;
REVOKE ALL ON SCHEMA aws_lambda FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA aws_lambda FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA aws_lambda_shim FROM PUBLIC;
GRANT USAGE ON SCHEMA aws_commons TO PUBLIC;
GRANT EXECUTE ON FUNCTION aws_commons.create_lambda_function_arn(text, text) TO PUBLIC;

COMMIT;
